"""Staff unavailable during a disruption (seed 000 "Backup Support Staff"; R37, R38).

The crisis team — or the person themself — marks someone unavailable. The availability
model is the one the people administration keeps: ``users.available``, the flag an admin
sets with "Mark as on leave", that caseworker assignment, the stand-in of new tasks and
the crisis fan-out read. Marking someone unavailable in a real disruption sets that flag
(audited as the administration audits it, ``user_availability_changed``) and records the
absence on the crisis (``crisis_staff_absences``); then every open task they hold goes
where the ``bcp_backup_staffing`` rule says for its kind of work and the case's risk level
(a colleague with room in their caseload, the supervisor, or back to its role), each move
recorded (``crisis_task_moves``) and the backups told. A committee member's vote stays
theirs.

When recovery starts (resumption confirmed), everyone the crisis marked unavailable is
available again — the flag is set back only where this crisis set it — and the tasks that
went to backups and are still open and still with that backup go back to them.

In a drill nothing live changes: the absence is recorded on the drill only, the drill's
own fan-out treats the person as unavailable (:func:`absent_in_drill`), and only the
drill's own tasks move.
"""
from __future__ import annotations

import json

from sqlalchemy import func, or_, select

from engine import clock
from engine.crisis import labels
from engine.crisis.declaration import CHECK_PROCESS, add_system_entry, load_crisis
from engine.crisis.staffing import StaffPool, backup_for, backup_rules
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Case, HumanTask, TaskState, User
from engine.models.crisis import Crisis, CrisisCaseCheck, CrisisStaffAbsence, CrisisStatus, CrisisTaskMove
from engine.people.directory import get_user, user_named
from engine.service_ops import notifications
from engine.service_ops.translations import N_, words

MARK_ROLES = ("crisis_team",)  # besides the person themself
PERSONAL_LANES = ("committee_member",)  # a vote is cast by the member asked
NOTE_MAX = 500


def absent_in_drill(session, crisis: Crisis) -> set[int]:
    """Who counts as unavailable for a drill's own work (nobody extra in a real crisis:
    its absences set the shared flag)."""
    if not crisis.drill:
        return set()
    return set(session.scalars(select(CrisisStaffAbsence.user_id).where(
        CrisisStaffAbsence.crisis_id == crisis.id, CrisisStaffAbsence.restored_at.is_(None))))


def absent_from(session, user_id: int) -> set[int]:
    """The crises (and drills) during which ``user_id`` is marked unavailable now."""
    return set(session.scalars(select(CrisisStaffAbsence.crisis_id).where(
        CrisisStaffAbsence.user_id == user_id, CrisisStaffAbsence.restored_at.is_(None))))


def _people(session, actor_id: int, crisis_id: int, username) -> tuple[User, Crisis, User]:
    actor = get_user(session, actor_id)
    crisis = load_crisis(session, crisis_id, for_update=True)
    if crisis.status == CrisisStatus.CLOSED:
        raise Conflict(N_("crisis %(id)s is closed") % {"id": crisis.id})
    target = user_named(session, username) if isinstance(username, str) else None
    if target is None:
        raise Invalid("nobody active has that username", errors={"username": ["choose an active member of staff"]})
    if actor.id != target.id and not actor.has_role(*MARK_ROLES):
        raise Forbidden("only the crisis team (or the person themself) says who is unavailable during a disruption")
    return actor, crisis, target


def mark_unavailable(uow, actor_id: int, crisis_id: int, username, note=None) -> dict:
    """``username`` is unavailable for the rest of the disruption: their open tasks go to
    backups by the bcp_backup_staffing rule. Returns how many moved and to whom. Commits."""
    session = uow.session
    actor, crisis, target = _people(session, actor_id, crisis_id, username)
    text = note.strip() if isinstance(note, str) else ""
    if len(text) > NOTE_MAX:
        raise Invalid("the note is too long", errors={"note": [f"at most {NOTE_MAX} characters"]})
    absence = session.scalar(select(CrisisStaffAbsence).where(CrisisStaffAbsence.crisis_id == crisis.id,
                                                              CrisisStaffAbsence.user_id == target.id))
    if absence is not None and absence.restored_at is None:
        raise Conflict(N_("%(username)s is already marked unavailable during this disruption")
                       % {"username": target.username})
    now = clock.now()
    if absence is None:
        absence = CrisisStaffAbsence(crisis_id=crisis.id, user_id=target.id, note=text, flag_set=False)
        session.add(absence)
    absence.marked_by, absence.marked_at, absence.restored_at, absence.note = actor.id, now, None, text
    if not crisis.drill and target.available:
        target.available = False
        absence.flag_set = True
        uow.audit(actor.id, "user_availability_changed", "user", target.id, available=False, crisis_id=crisis.id)
    session.flush()
    moved = _move_work(uow, crisis, target, actor.id)
    add_system_entry(session, crisis.id, "action", f"{target.display_name or target.username} is unavailable"
                     f"{' (drill)' if crisis.drill else ''}{': ' + text if text else ''}. "
                     f"{labels.count(len(moved), 'open task')} went to backup staff or back to their role.", actor.id)
    uow.audit(actor.id, "crisis_staff_unavailable", "crisis", crisis.id, user_id=target.id, tasks_moved=len(moved))
    uow.commit()
    return {"username": target.username, "tasks_moved": len(moved), "to": sorted({u for u in moved if u})}


def mark_available(uow, actor_id: int, crisis_id: int, username) -> dict:
    """``username`` is back before recovery: available again, their moved tasks back. Commits."""
    session = uow.session
    actor, crisis, target = _people(session, actor_id, crisis_id, username)
    absence = session.scalar(select(CrisisStaffAbsence).where(
        CrisisStaffAbsence.crisis_id == crisis.id, CrisisStaffAbsence.user_id == target.id,
        CrisisStaffAbsence.restored_at.is_(None)))
    if absence is None:
        raise Conflict(N_("%(username)s is not marked unavailable during this disruption")
                       % {"username": target.username})
    returned = _restore(uow, crisis, absence, actor.id)
    add_system_entry(session, crisis.id, "update", f"{target.display_name or target.username} is available again; "
                     f"{labels.count(returned, 'open task')} went back to them.", actor.id)
    uow.commit()
    return {"username": target.username, "tasks_returned": returned}


def restore_at_recovery(uow, crisis: Crisis, actor_id: int | None) -> int:
    """Recovery starts: everyone this crisis marked unavailable is available again and gets
    back their tasks still open with the backup; returns how many people. A building block."""
    session = uow.session
    absences = list(session.scalars(select(CrisisStaffAbsence).where(
        CrisisStaffAbsence.crisis_id == crisis.id, CrisisStaffAbsence.restored_at.is_(None))))
    returned = sum(_restore(uow, crisis, absence, actor_id) for absence in absences)
    if absences:
        people, tasks = labels.count(len(absences), "member"), labels.count(returned, "open task")
        add_system_entry(session, crisis.id, "update", f"Recovery: {people} of staff marked unavailable available "
                         f"again; {tasks} went back to them.", actor_id)
    return len(absences)


def list_absences(session, crisis_id: int) -> list[dict]:
    rows = session.execute(select(CrisisStaffAbsence, User.username, User.display_name)
                           .join(User, User.id == CrisisStaffAbsence.user_id)
                           .where(CrisisStaffAbsence.crisis_id == crisis_id)
                           .order_by(CrisisStaffAbsence.marked_at, CrisisStaffAbsence.id)).all()
    counts = dict(session.execute(select(CrisisTaskMove.from_user_id, func.count()).where(
        CrisisTaskMove.crisis_id == crisis_id).group_by(CrisisTaskMove.from_user_id)).all())
    return [{"username": username, "display_name": name, "marked_at": a.marked_at, "note": a.note,
             "restored_at": a.restored_at, "tasks_moved": counts.get(a.user_id, 0)} for a, username, name in rows]


# -- building blocks ------------------------------------------------------------------------
def _open_tasks_of(session, crisis: Crisis, user: User) -> list[HumanTask]:
    query = select(HumanTask).where(HumanTask.assignee_id == user.id, HumanTask.state == TaskState.READY,
                                    or_(HumanTask.role.is_(None), HumanTask.role.not_in(PERSONAL_LANES)))
    if crisis.drill:  # only the drill's own work moves
        drill_checks = select(CrisisCaseCheck.instance_id).where(CrisisCaseCheck.crisis_id == crisis.id,
                                                                 CrisisCaseCheck.instance_id.is_not(None))
        query = query.where(or_(HumanTask.instance_id == crisis.instance_id, HumanTask.instance_id.in_(drill_checks)))
    return list(session.scalars(query.order_by(HumanTask.due_at, HumanTask.id)))


def _move_work(uow, crisis: Crisis, user: User, actor_id: int) -> list[int | None]:
    """Every open task ``user`` holds to its backup; returns who got each (None: its role)."""
    session = uow.session
    params = json.loads(crisis.impact_parameters or "{}")
    rules = backup_rules(params)
    pool = StaffPool(session, int(params["backup_caseload_cap"]), absent_in_drill(session, crisis) | {user.id})
    tasks = _open_tasks_of(session, crisis, user)
    codes = {t.case_code for t in tasks if t.case_code}
    cases = {c.code: c for c in session.scalars(select(Case).where(Case.code.in_(codes)))} if codes else {}
    checks = {c.instance_id: c for c in session.scalars(select(CrisisCaseCheck).where(
        CrisisCaseCheck.instance_id.in_({t.instance_id for t in tasks})))} if tasks else {}
    now, given = clock.now(), []
    for task in tasks:
        case = cases.get(task.case_code or "")
        work = "crisis_check" if task.process_id == CHECK_PROCESS else \
            "follow_up" if case is not None and task.role in (None, "caseworker") else "other"
        backup = backup_for(rules, work, case.risk_level if case else None)
        caseworker = (case.caseworker_id if case else None) if work != "other" else None
        to = None if backup == "role" else pool.assign(caseworker if caseworker != user.id else user.id,
                                                       case.supervisor_id if case else None, backup).user_id
        if to is None and task.role is None:
            continue  # nobody to offer it to: it stays (a supervisor reassigns it)
        task.assignee_id = to
        check = checks.get(task.instance_id)
        if check is not None and check.crisis_id == crisis.id:
            check.assignee_id, check.backup = to, True
        session.add(CrisisTaskMove(crisis_id=crisis.id, task_id=task.id, case_code=task.case_code, work=work,
                                   from_user_id=user.id, to_user_id=to, moved_at=now))
        uow.audit(actor_id, "task_reassigned", "human_task", task.id, task.case_code, reason="crisis_unavailable",
                  crisis_id=crisis.id, from_user_id=user.id, assignee_id=to)
        given.append(to)
    subject = (N_("Drill: Work of an unavailable colleague is now yours (disruption #%(id)s)") if crisis.drill
               else N_("Work of an unavailable colleague is now yours (disruption #%(id)s)"))
    notifications.notify(uow, {u for u in given if u}, "crisis_backup", words(subject, id=crisis.id),
                         body=words(N_("Their open tasks and crisis checks are in your inbox, the most urgent first.")),
                         link="/",
                         dedupe_key=f"crisis_backup:{crisis.id}:{user.id}:{now.isoformat()}")
    return given


def _restore(uow, crisis: Crisis, absence: CrisisStaffAbsence, actor_id: int | None) -> int:
    """``absence`` ends: the flag back (if this crisis set it), the moved tasks back."""
    session = uow.session
    now = clock.now()
    absence.restored_at = now
    user = session.get(User, absence.user_id)
    if absence.flag_set and user is not None and not user.available:
        user.available = True
        uow.audit(actor_id, "user_availability_changed", "user", user.id, available=True, crisis_id=crisis.id)
    moves = session.execute(select(CrisisTaskMove, HumanTask).join(HumanTask, HumanTask.id == CrisisTaskMove.task_id)
                            .where(CrisisTaskMove.crisis_id == crisis.id,
                                   CrisisTaskMove.from_user_id == absence.user_id,
                                   CrisisTaskMove.returned_at.is_(None))).all()
    returned = 0
    for move, task in moves:
        move.returned_at = now
        if task.state != TaskState.READY or task.assignee_id != move.to_user_id:
            continue  # done meanwhile, or someone else has it now: it stays where it is
        task.assignee_id = absence.user_id
        check = session.scalar(select(CrisisCaseCheck).where(CrisisCaseCheck.instance_id == task.instance_id,
                                                             CrisisCaseCheck.crisis_id == crisis.id))
        if check is not None:
            check.assignee_id = absence.user_id
        uow.audit(actor_id, "task_reassigned", "human_task", task.id, task.case_code, reason="crisis_available_again",
                  crisis_id=crisis.id, from_user_id=move.to_user_id, assignee_id=absence.user_id)
        returned += 1
    if returned:
        notifications.notify(uow, [absence.user_id], "crisis_backup",
                             words(N_("Your tasks are back with you (disruption #%(id)s)"), id=crisis.id),
                             body=words(N_("The open tasks backup staff held for you are in your inbox again.")),
                             link="/", dedupe_key=f"crisis_restored:{crisis.id}:{absence.id}:"
                             f"{now.isoformat()}")
    return returned
