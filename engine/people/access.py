"""Who may see and act on what. Pure functions over already-loaded rows."""
from __future__ import annotations

from dataclasses import dataclass

from engine.models import CaseStatus, HumanTask, User

TEAM_ROLES = ("supervisor", "director")


@dataclass(frozen=True)
class Actor:
    """The acting person as the task rules need them: their id, and those of their roles a
    query already matched against the task (a completion reads whether the person holds the
    task's role with the task itself, instead of loading the person and all their roles)."""
    id: int
    roles: frozenset[str]


def offered_to(user: User | Actor, task: HumanTask) -> bool:
    """The task is offered to one of the user's roles (claimable by them)."""
    return task.role is not None and task.role in user.roles


def may_view_task(user: User, task: HumanTask, supervisee_ids: set[int]) -> bool:
    if task.assignee_id == user.id:
        return True
    if task.assignee_id is None and offered_to(user, task):
        return True
    if task.assignee_id in supervisee_ids:
        return True
    return "admin" in user.roles


def may_complete(user: User | Actor, task: HumanTask) -> bool:
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    return offered_to(user, task)


# -- cases (need-to-know, R32) -------------------------------------------------------------
def may_view_case(user: User, case, supervised_ids: set[int], *, holds_task: bool,
                  before_committee: bool, team_referral: bool = False, shadowing: bool = False) -> bool:
    """Who may open a case file: its caseworker, their supervisor(s) and the case's
    supervisor, the director, the intake worker until a caseworker is assigned, committee
    members while the case is before the committee, whoever holds (or is offered) one of
    its open tasks, and admins (who see no names).

    ``team_referral``: the case has no caseworker yet and someone the user supervises
    screened it or holds (or is offered) one of its open tasks, so a supervisor sees the
    referrals their team sees. ``shadowing``: the user handed the case over and the
    handover's shadowing period runs (R29)."""
    roles = user.roles
    if "director" in roles or "admin" in roles:
        return True
    if user.id in (case.caseworker_id, case.supervisor_id) or _intake_worker(user, case):
        return True
    if case.caseworker_id is not None and case.caseworker_id in supervised_ids:
        return True
    if before_committee and "committee_member" in roles:
        return True
    if team_referral and case.caseworker_id is None and any(r in roles for r in TEAM_ROLES):
        return True
    return holds_task or shadowing


def may_see_client_name(user: User, case, supervised_ids: set[int], *, works_on_open_task: bool,
                        shadowing: bool = False) -> bool:
    """Who may read the name behind a case code (R05, R32): the caseworker, the
    supervisors (of the caseworker, or of the intake worker until a caseworker is
    assigned), the director, and the worker holding an open task that means meeting the
    person. The intake worker keeps it until a caseworker is assigned; the caseworker who
    handed the case over keeps it while the shadowing runs. Committee members decide on
    codes; admins never see names."""
    if user.id in (case.caseworker_id, case.supervisor_id) or _intake_worker(user, case):
        return True
    if case.caseworker_id is not None and case.caseworker_id in supervised_ids:
        return True
    if case.caseworker_id is None and getattr(case, "intake_worker_id", None) in supervised_ids:
        return True
    if "director" in user.roles:
        return True
    return works_on_open_task or shadowing


def _intake_worker(user: User, case) -> bool:
    """The worker who screened the referral, while no caseworker is assigned yet."""
    return case.caseworker_id is None and getattr(case, "intake_worker_id", None) == user.id


def may_see_confidential(user, case, supervised: set[int]) -> bool:
    """The strictly confidential section (001 §2.5.2): the case's caseworker and
    supervisor, the caseworker's supervisors, the director. Never committee members,
    task holders passing by, or administrators."""
    if user.id in (case.caseworker_id, case.supervisor_id):
        return True
    if case.caseworker_id is not None and case.caseworker_id in supervised:
        return True
    return "director" in user.roles


def may_write_notes(user: User, case, supervised: set[int], *, works_on_open_task: bool) -> bool:
    """Who adds contacts and notes to a case file (R33): those who work on the case — its
    caseworker, the supervisors, the director, the intake worker until a caseworker is
    assigned, and the worker holding one of its open tasks. Committee members, a
    caseworker shadowing a handed-over case and administrators read, never write."""
    if user.id in (case.caseworker_id, case.supervisor_id) or _intake_worker(user, case):
        return True
    if case.caseworker_id is not None and case.caseworker_id in supervised:
        return True
    if case.caseworker_id is None and getattr(case, "intake_worker_id", None) in supervised:
        return True
    return "director" in user.roles or works_on_open_task


def may_refer(user: User) -> bool:
    """Staff who take referrals (R01: anyone who works with clients)."""
    return user.has_role("caseworker", "supervisor", "director")


def may_hand_over(user: User, case, supervised_ids: set[int]) -> bool:
    """Who may hand an open case to another caseworker (R29): the case's supervisor, the
    supervisor of its caseworker, the director."""
    if case.status == CaseStatus.CLOSED or not user.has_role("supervisor", "director"):
        return False
    return "director" in user.roles or case.supervisor_id == user.id or case.caseworker_id in supervised_ids
