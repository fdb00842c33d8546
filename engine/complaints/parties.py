"""Who a complaint involves, who investigates it, and who may see it (R28, 003 §5.6.3).

The people involved are the staff member complained about and, for a complaint about a
case, the case's caseworker when the complaint came in. None of them investigates it or
sees it (unless they recorded it). The investigator is the supervisor of the person
complained about, up the line of supervision, else a project director; the answer's
escalation goes to a director not involved. Confidential: the complaint is seen by the
staff member who recorded it, its investigator, the supervisors of the people involved
and the directors, and no one else.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from engine.errors import Conflict
from engine.models import Supervision, User
from engine.models.complaints import Complaint
from engine.people.directory import supervisee_ids, users_with_role

MAX_CHAIN = 5  # levels of supervision looked up (a loop in the data cannot run away)
INVESTIGATOR_ROLES = ("supervisor", "director")


def involved_ids(complaint: Complaint) -> set[int]:
    return {i for i in (complaint.staff_member_id, complaint.case_caseworker_id) if i is not None}


def supervisors_up(session, user_id: int | None) -> list[int]:
    """The line of supervision above ``user_id``, nearest first."""
    found: list[int] = []
    current = user_id
    for _ in range(MAX_CHAIN):
        above = session.scalar(select(Supervision.supervisor_id).where(Supervision.supervisee_id == current)
                               .order_by(Supervision.supervisor_id).limit(1)) if current is not None else None
        if above is None or above in found or above == user_id:
            break
        found.append(above)
        current = above
    return found


def _eligible(user: User | None, involved: set[int]) -> bool:
    return (user is not None and user.active and user.available and user.id not in involved
            and user.has_role(*INVESTIGATOR_ROLES))


def choose_investigator(session, subject_person_id: int | None, involved: set[int]) -> User:
    """The nearest available supervisor above the person complained about who is not
    involved, else an available director who is not; 409 when there is nobody."""
    for user_id in supervisors_up(session, subject_person_id):
        user = session.get(User, user_id)
        if _eligible(user, involved):
            return user
    return choose_director(session, involved)


def choose_director(session, involved: set[int]) -> User:
    """A director not involved (available ones first) who is told when the answer is late."""
    directors = [u for u in users_with_role(session, "director") if u.id not in involved]
    directors.sort(key=lambda u: (not u.available, u.username))
    if not directors:
        raise Conflict("no project director who is not involved can take this complaint; an administrator must "
                       "appoint one")
    return directors[0]


def may_see(session, user: User, complaint: Complaint) -> bool:
    """The confidentiality rule of the module docstring."""
    if user.id == complaint.recorded_by:
        return True
    if user.id in involved_ids(complaint):
        return False
    if "director" in user.roles or user.id in (complaint.investigator_id, complaint.answered_by):
        return True
    return bool(involved_ids(complaint) & supervisee_ids(session, user.id))


def may_investigate(session, user: User, complaint: Complaint) -> bool:
    """The investigator, someone standing in for them (a supervisor above them, a
    director): never someone involved."""
    if user.id in involved_ids(complaint):
        return False
    if user.id == complaint.investigator_id or "director" in user.roles:
        return True
    return complaint.investigator_id in supervisee_ids(session, user.id)


def visible_query(session, user: User):
    """Complaints this user may see, before the involved-people exclusion (``may_see``)."""
    query = select(Complaint)
    if "director" in user.roles:
        return query
    supervised = supervisee_ids(session, user.id)
    clauses = [Complaint.recorded_by == user.id, Complaint.investigator_id == user.id,
               Complaint.answered_by == user.id]
    if supervised:
        clauses += [Complaint.staff_member_id.in_(supervised), Complaint.case_caseworker_id.in_(supervised)]
    return query.where(or_(*clauses))
