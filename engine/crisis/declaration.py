"""Declaring a disruption of CBF-5 (R35) and the BCP workflow's milestones on the crisis
record: resumption deadline, communication lead, escalation at T+24 h (R42), resumption
confirmed, closure.

``declare_crisis`` is what a crisis-team member does; the other functions are called by
the ``crisis.*`` service-task operations of ``workflows/bpmn/bcp_cbf5.bpmn`` inside the
engine step that reaches them. Nothing here commits: the caller's unit of work does.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import User
from engine.models.crisis import CRISIS_KINDS, SUB_FUNCTIONS, Crisis, DisruptionLogEntry
from engine.people.directory import get_user, ids_with_roles
from engine.process import instances
from engine.service_ops import notifications

log = logging.getLogger(__name__)

BCP_PROCESS = "bcp_cbf5"
CHECK_PROCESS = "bcp_crisis_check"
DECLARE_ROLES = ("crisis_team",)
# The crisis record, dashboard and log: the crisis team, management, admins.
VIEW_ROLES = ("crisis_team", "director", "supervisor", "admin")
# Lists that name affected cases (checks, follow-ups, notes, the data report): need-to-know.
CASE_LIST_ROLES = ("crisis_team", "director", "admin")
# Who hears that a disruption was declared: the crisis team, management and every
# member of staff who works on cases (seed 000 "Staff Communication").
DECLARATION_AUDIENCE = ("crisis_team", "director", "supervisor", "caseworker")
DESCRIPTION_MAX = 4000
# Who may move the BCP workflow (its lanes): steps a person triggers are refused for others.
BCP_ACTOR_ROLES = ("crisis_team", "director", "process_owner")
_DECLARING = "crisis_being_declared"  # session.info key: the crisis whose BCP workflow is starting


def crisis_link(crisis_id: int) -> str:
    return f"/crisis/{crisis_id}"


# -- reading ----------------------------------------------------------------------------
def active_crisis(session) -> Crisis | None:
    return session.scalar(select(Crisis).where(Crisis.active_slot.is_not(None)))


def load_crisis(session, crisis_id: int, for_update: bool = False) -> Crisis:
    crisis = session.get(Crisis, crisis_id, with_for_update=for_update or None)
    if crisis is None:
        raise NotFound(f"no crisis {crisis_id}")
    return crisis


def crisis_of_instance(session, instance) -> Crisis:
    """The crisis whose BCP workflow ``instance`` is (``crises.instance_id``): what the
    ``crisis.*`` operations of ``bcp_cbf5`` act on, whatever the task data says. While
    :func:`declare_crisis` starts that workflow, its first steps run before the link can be
    written: the crisis being declared in this transaction is linked to the first BCP
    instance that asks for it."""
    crisis = session.scalar(select(Crisis).where(Crisis.instance_id == instance.id))
    declaring = session.info.get(_DECLARING)
    if crisis is None and isinstance(declaring, Crisis) and declaring.instance_id is None \
            and instance.process_id == BCP_PROCESS:
        declaring.instance_id = instance.id
        crisis = declaring
    if crisis is None:
        raise NotFound(f"process instance {instance.id} is no crisis's BCP workflow "
                       "(the BCP starts through POST /api/crises)")
    return crisis


def require_entitled(session, actor_id: int | None, roles: tuple[str, ...], doing: str) -> None:
    """A step a person triggered (``actor_id``) is theirs to take only with one of
    ``roles``; the engine's own steps (timers, the task queue: no actor) always are."""
    if actor_id is not None:
        require_role(session, actor_id, roles, doing)


def resumption_deadline(crisis: Crisis) -> dt.datetime:
    """The crisis's resumption deadline (R36), which every declared crisis has."""
    if crisis.resumption_due_at is None:
        raise Invalid(f"crisis {crisis.id} has no resumption deadline: its BCP diagram has not reached "
                      "crisis.open_resumption")
    return crisis.resumption_due_at


def require_role(session, user_id: int, roles: tuple[str, ...], doing: str) -> User:
    user = get_user(session, user_id)
    if not user.has_role(*roles):
        raise Forbidden(f"only {' or '.join(r.replace('_', ' ') for r in roles)} members may {doing}")
    return user


def view_crisis(session, user_id: int, crisis_id: int, roles: tuple[str, ...] = VIEW_ROLES) -> Crisis:
    """The crisis, for those of ``roles`` (need-to-know)."""
    require_role(session, user_id, roles, "see these crisis records")
    return load_crisis(session, crisis_id)


def list_crises(session, user_id: int, status: str | None = None, limit: int = 50,
                offset: int = 0) -> tuple[list[Crisis], int]:
    require_role(session, user_id, VIEW_ROLES, "see crisis records")
    query = select(Crisis)
    if status == "active":
        query = query.where(Crisis.active_slot.is_not(None))
    elif status:
        query = query.where(Crisis.status == status)
    rows = list(session.scalars(query.order_by(Crisis.declared_at.desc(), Crisis.id.desc())
                                .limit(limit).offset(offset)))
    return rows, session.scalar(select(func.count()).select_from(query.subquery()))


# -- declaring (R35) ----------------------------------------------------------------------
def validate_declaration(kind, description, affected_functions) -> tuple[str, str, list[str]]:
    """The declaration's fields, cleaned; ``Invalid`` (422) naming every bad field."""
    errors: dict[str, list[str]] = {}
    if kind not in CRISIS_KINDS:
        errors["kind"] = [f"must be one of {', '.join(CRISIS_KINDS)}"]
    text = description.strip() if isinstance(description, str) else ""
    if not text:
        errors["description"] = ["describe the disruption"]
    elif len(text) > DESCRIPTION_MAX:
        errors["description"] = [f"at most {DESCRIPTION_MAX} characters"]
    functions: list[str] = []
    if not isinstance(affected_functions, list) or not affected_functions:
        errors["affected_functions"] = [f"name at least one sub-function of CBF-5 ({', '.join(SUB_FUNCTIONS)})"]
    else:
        unknown = [str(f)[:20] for f in affected_functions if not isinstance(f, str) or f not in SUB_FUNCTIONS]
        if unknown:
            errors["affected_functions"] = [f"unknown sub-function {f!r} (CBF-5 has {', '.join(SUB_FUNCTIONS)})"
                                            for f in unknown]
        functions = sorted({f for f in affected_functions if isinstance(f, str) and f in SUB_FUNCTIONS})
    if errors:
        raise Invalid("the declaration has invalid fields", errors=errors)
    return kind, text, functions


def declare_crisis(uow, runtime: ProcessRuntime, actor_id: int, kind, description,
                   affected_functions) -> Crisis:
    """A crisis-team member declares a disruption: record it, start the BCP workflow
    (which sets the T+24 h resumption deadline and starts the fan-out), write the first
    disruption-log entry and tell the staff. A second declaration while one is active
    is a ``Conflict`` naming the active one, also when two declarations race. Commits."""
    session = uow.session
    user = require_role(session, actor_id, DECLARE_ROLES, "declare a disruption")
    kind, text, functions = validate_declaration(kind, description, affected_functions)
    _refuse_if_active(session)
    now = clock.now()
    crisis = Crisis(kind=kind, description=text, affected_functions=",".join(functions), status="resumption",
                    active_slot=1, declared_by=user.id, declared_at=now)
    try:
        with session.begin_nested():
            session.add(crisis)
            session.flush()
    except (IntegrityError, OperationalError) as err:  # another declaration won the race for the active slot
        if isinstance(err, OperationalError) and not _lost_race(err):
            raise
        _refuse_if_active(session)
        raise Conflict("another disruption was declared at the same moment; reload") from err
    add_system_entry(session, crisis.id, "incident", f"Disruption declared ({kind.replace('_', ' ')}), affected "
                     f"sub-functions {', '.join(functions)}: {text}", author_id=user.id)
    session.info[_DECLARING] = crisis
    try:
        instance = instances.start_process(uow, runtime, BCP_PROCESS, user.id, {
            "crisis_id": crisis.id, "kind": kind, "affected_functions": functions, "crisis_lead": user.username})
    finally:
        session.info.pop(_DECLARING, None)
    crisis.instance_id = instance.id
    if crisis.resumption_due_at is None:
        raise Invalid(f"the deployed {BCP_PROCESS} diagram set no resumption deadline "
                      "(its crisis.open_resumption step is missing)")
    uow.audit(user.id, "crisis_declared", "crisis", crisis.id, kind=kind, affected_functions=functions,
              instance_id=instance.id)
    audience = set(ids_with_roles(session, DECLARATION_AUDIENCE))
    viewers = audience & set(ids_with_roles(session, VIEW_ROLES))
    for recipients, link in ((viewers, crisis_link(crisis.id)), (audience - viewers, "/")):
        notifications.notify(uow, recipients, "crisis_declared",
                             f"Disruption declared: {kind.replace('_', ' ')} affecting CBF-{', CBF-'.join(functions)}",
                             body=f"Essential services must resume by "
                                  f"{crisis.resumption_due_at.isoformat(timespec='minutes')}. "
                                  "Crisis checks of affected cases will appear in inboxes.",
                             link=link, dedupe_key=f"crisis_declared:{crisis.id}")
    log.info("crisis %s declared by %s: %s %s", crisis.id, user.username, kind, functions)
    uow.commit()
    return crisis


def _refuse_if_active(session) -> None:
    active = active_crisis(session)
    if active is not None:
        raise Conflict(f"crisis {active.id} ({active.kind.replace('_', ' ')}, declared "
                       f"{active.declared_at.isoformat(timespec='minutes')}) is still active: add to its "
                       f"disruption log instead of declaring a second one", active_crisis_id=active.id)


def _lost_race(err: OperationalError) -> bool:
    text = str(err.orig).lower()
    return "database is locked" in text or "could not serialize" in text or "deadlock" in text


def add_system_entry(session, crisis_id: int, kind: str, text: str, author_id: int | None = None) -> None:
    """A disruption-log entry written by the workflow (or on behalf of ``author_id``)."""
    session.add(DisruptionLogEntry(crisis_id=crisis_id, at=clock.now(), author_id=author_id, kind=kind, text=text))


# -- milestones the diagram reaches ----------------------------------------------------
def open_resumption(uow, crisis_id: int, within_hours) -> dict:
    """R36: the resumption deadline, ``within_hours`` (bcp_parameters) after the declaration."""
    if isinstance(within_hours, bool) or not isinstance(within_hours, (int, float)) or within_hours <= 0:
        raise Invalid(f"resumption_within_hours must be a positive number of hours, not {within_hours!r}")
    crisis = load_crisis(uow.session, crisis_id)
    crisis.resumption_due_at = crisis.declared_at + dt.timedelta(hours=within_hours)
    add_system_entry(uow.session, crisis.id, "decision", f"Essential services must resume by "
                     f"{crisis.resumption_due_at.isoformat(timespec='minutes')} (T+{within_hours:g} h).")
    return {"crisis_id": crisis.id, "due_at": crisis.resumption_due_at.isoformat()}


def set_communication_lead(uow, crisis_id: int, username, actor_id: int | None) -> dict:
    """R36: the Crisis Communication Lead must be an active crisis-team member."""
    session = uow.session
    lead = session.scalar(select(User).where(User.username == username, User.active)) \
        if isinstance(username, str) else None
    if lead is None or not lead.has_role("crisis_team"):
        raise Invalid("the Crisis Communication Lead must be an active member of the crisis response team",
                      errors={"communication_lead": [f"{username!r} is not an active crisis-team member"]})
    crisis = load_crisis(session, crisis_id)
    crisis.communication_lead_id = lead.id
    add_system_entry(session, crisis.id, "decision", f"Crisis Communication Lead: {lead.username}.", actor_id)
    uow.audit(actor_id, "crisis_communication_lead_set", "crisis", crisis.id, lead=lead.username)
    notifications.notify(uow, [lead.id], "crisis_role", "You are the Crisis Communication Lead",
                         body="Inform clients, staff and stakeholders; the tasks are in your inbox.",
                         link=crisis_link(crisis.id), dedupe_key=f"crisis_lead:{crisis.id}:{lead.id}")
    return {"communication_lead": lead.username}


def request_client_impact(uow, crisis_id: int, parameters: dict) -> dict:
    """R37/R38: keep the diagram's parameters and ask the task queue to plan the crisis
    checks and reassign missed follow-ups (``crisis_plan_checks``)."""
    crisis = load_crisis(uow.session, crisis_id)
    crisis.impact_parameters = json.dumps(parameters, sort_keys=True)
    uow.enqueue("crisis_plan_checks", crisis.id)
    return {"requested": True}


def confirm_resumption(uow, crisis_id: int, actor_id: int | None) -> dict:
    crisis = load_crisis(uow.session, crisis_id)
    now = clock.now()
    crisis.resumption_confirmed_at, crisis.resumption_confirmed_by = now, actor_id
    crisis.status = "recovery"
    late = crisis.resumption_due_at is not None and now > crisis.resumption_due_at
    add_system_entry(uow.session, crisis.id, "update", "Resumption of essential services confirmed"
                     + (" (after the T+24 h deadline)." if late else ".") + " Recovery begins.", actor_id)
    uow.audit(actor_id, "crisis_resumption_confirmed", "crisis", crisis.id, late=late)
    return {"confirmed_at": now.isoformat(), "late": late}


def escalate_resumption(uow, crisis_id: int) -> dict:
    """R42: resumption not confirmed at its deadline: alert the directors, the crisis
    lead (the declarer) and the communication lead."""
    session = uow.session
    crisis = load_crisis(session, crisis_id)
    if crisis.resumption_confirmed_at is not None:
        return {"escalated": False}
    due = resumption_deadline(crisis)
    crisis.escalated_at = clock.now()
    recipients = set(ids_with_roles(session, ("director",))) | {crisis.declared_by}
    if crisis.communication_lead_id:
        recipients.add(crisis.communication_lead_id)
    add_system_entry(session, crisis.id, "service_failure", "Resumption NOT confirmed by the T+24 h deadline "
                     f"({due.isoformat(timespec='minutes')}): escalated to the director.")
    uow.audit(None, "crisis_escalated", "crisis", crisis.id, notified=sorted(recipients))
    sent = notifications.notify(uow, recipients, "crisis_escalation",
                                f"Resumption overdue: crisis {crisis.id} not resumed within T+24 h",
                                body="Essential CBF-5 services were not confirmed resumed by "
                                     f"{due.isoformat(timespec='minutes')}.",
                                link=crisis_link(crisis.id), dedupe_key=f"crisis_escalation:{crisis.id}")
    return {"escalated": True, "notified": sent}


def close_crisis(uow, crisis_id: int, actor_id: int | None) -> dict:
    """End of recovery: the crisis stops being active, so a new one can be declared."""
    crisis = load_crisis(uow.session, crisis_id)
    crisis.status, crisis.active_slot, crisis.closed_at = "closed", None, clock.now()
    add_system_entry(uow.session, crisis.id, "update", "Recovery complete: crisis closed.", actor_id)
    uow.audit(actor_id, "crisis_closed", "crisis", crisis.id)
    return {"closed_at": crisis.closed_at.isoformat()}


def record_bcp_update(uow, crisis_id: int, actor_id: int | None, updated: bool, changes: str) -> dict:
    """R40: the process owner's BCP update after the lessons learned."""
    crisis = load_crisis(uow.session, crisis_id)
    add_system_entry(uow.session, crisis.id, "update",
                     ("BCP updated after the lessons learned: " if updated else "BCP reviewed, not changed: ")
                     + changes, actor_id)
    uow.audit(actor_id, "bcp_updated" if updated else "bcp_reviewed", "crisis", crisis.id)
    return {"bcp_updated": bool(updated)}
