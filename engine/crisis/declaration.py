"""Declaring a disruption of CBF-5 (R35) — or a drill of one (R41, R54) — and the BCP
workflow's milestones on the crisis record: resumption deadline, communication lead,
escalation at T+24 h (R42), resumption confirmed, closure.

A drill runs the same workflow: one real disruption and one drill may be active at once
(``active_slot`` 1 and 2), so a drill never blocks a real declaration. What a drill must not
do — contact clients, change live case records or staff availability — the modules that
would do it check ``crisis.drill`` themselves.

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
from engine.crisis import labels
from engine.crisis.labels import functions_text, kind_label, what_it_is, when_text
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import User
from engine.models.crisis import CRISIS_KINDS, SUB_FUNCTIONS, Crisis, CrisisStatus, DisruptionLogEntry
from engine.people.directory import get_user, ids_with_roles
from engine.process import instances
from engine.service_ops import notifications
from engine.service_ops.translations import N_, Words, words

log = logging.getLogger(__name__)

BCP_PROCESS = "bcp_cbf5"
CHECK_PROCESS = "bcp_crisis_check"
DECLARE_ROLES = ("crisis_team",)
# The crisis record, dashboard and log: the crisis team, management, admins.
VIEW_ROLES = ("crisis_team", "director", "supervisor", "admin")
# Lists that name affected cases (checks, follow-ups, notes, the data report): need-to-know.
CASE_LIST_ROLES = ("crisis_team", "director", "admin")
# Who hears that a disruption was declared: all staff (seed 000 "Staff Communication").
DECLARATION_AUDIENCE = ("crisis_team", "director", "supervisor", "caseworker", "committee_member", "process_owner",
                        "admin")
DESCRIPTION_MAX = 4000
INSTRUCTIONS_MAX = 2000
REAL_SLOT, DRILL_SLOT = 1, 2  # crises.active_slot of the active disruption and of the active drill
# Who may move the BCP workflow (its lanes): steps a person triggers are refused for others.
BCP_ACTOR_ROLES = ("crisis_team", "director", "process_owner")
_DECLARING = "crisis_being_declared"  # session.info key: the crisis whose BCP workflow is starting


def crisis_link(crisis_id: int) -> str:
    return f"/crisis/{crisis_id}"


# -- reading ----------------------------------------------------------------------------
def active_crisis(session) -> Crisis | None:
    """The real disruption now active (a drill is not one)."""
    return session.scalar(select(Crisis).where(Crisis.active_slot == REAL_SLOT))


def active_drill(session) -> Crisis | None:
    return session.scalar(select(Crisis).where(Crisis.active_slot == DRILL_SLOT))


def active_disruptions(session) -> list[Crisis]:
    """What is active now: the real disruption first, then the drill."""
    return list(session.scalars(select(Crisis).where(Crisis.active_slot.is_not(None)).order_by(Crisis.active_slot)))


def load_crisis(session, crisis_id: int, for_update: bool = False) -> Crisis:
    crisis = session.get(Crisis, crisis_id, with_for_update=for_update or None)
    if crisis is None:
        raise NotFound(N_("no crisis %(id)s") % {"id": crisis_id})
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
        raise Forbidden(N_("only %(roles)s members may %(doing)s")
                        % {"roles": " or ".join(r.replace("_", " ") for r in roles), "doing": doing})
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
def function_problems(affected_functions) -> tuple[list[str], list[str]]:
    """The sub-functions named, cleaned and sorted, and what is wrong with the list."""
    if not isinstance(affected_functions, list) or not affected_functions:
        return [], [f"name at least one sub-function of CBF-5 ({', '.join(SUB_FUNCTIONS)})"]
    unknown = [str(f)[:20] for f in affected_functions if not isinstance(f, str) or f not in SUB_FUNCTIONS]
    return (sorted({f for f in affected_functions if isinstance(f, str) and f in SUB_FUNCTIONS}),
            [f"unknown sub-function {f!r} (CBF-5 has {', '.join(SUB_FUNCTIONS)})" for f in unknown])


def validate_functions(affected_functions) -> list[str]:
    functions, problems = function_problems(affected_functions)
    if problems:
        raise Invalid("the affected sub-functions are not valid", errors={"affected_functions": problems})
    return functions


def validate_declaration(kind, description, affected_functions, drill=False,
                         staff_instructions=None) -> tuple[str, str, list[str]]:
    """The declaration's fields, cleaned; ``Invalid`` (422) naming every bad field."""
    errors: dict[str, list[str]] = {}
    if kind not in CRISIS_KINDS:
        errors["kind"] = [f"must be one of {', '.join(CRISIS_KINDS)}"]
    text = description.strip() if isinstance(description, str) else ""
    if not text:
        errors["description"] = ["describe the disruption"]
    elif len(text) > DESCRIPTION_MAX:
        errors["description"] = [f"at most {DESCRIPTION_MAX} characters"]
    functions, problems = function_problems(affected_functions)
    if problems:
        errors["affected_functions"] = problems
    if not isinstance(drill, bool):
        errors["drill"] = ["true for a drill, false (or left out) for a real disruption"]
    if staff_instructions is not None and (not isinstance(staff_instructions, str)
                                           or len(staff_instructions) > INSTRUCTIONS_MAX):
        errors["staff_instructions"] = [f"text of at most {INSTRUCTIONS_MAX} characters"]
    if errors:
        raise Invalid("the declaration has invalid fields", errors=errors)
    return kind, text, functions


def declare_crisis(uow, runtime: ProcessRuntime, actor_id: int, kind, description,
                   affected_functions, *, drill=False, staff_instructions=None) -> Crisis:
    """A crisis-team member declares a disruption (or, ``drill``, a drill of one): record
    it, start the BCP workflow (which sets the T+24 h resumption deadline and starts the
    fan-out), write the first disruption-log entry and tell all staff. A second declaration
    while one is active (a second drill while a drill is) is a ``Conflict`` naming the
    active one, also when two declarations race. Commits."""
    session = uow.session
    user = require_role(session, actor_id, DECLARE_ROLES, "declare a disruption")
    kind, text, functions = validate_declaration(kind, description, affected_functions, drill, staff_instructions)
    _refuse_if_active(session, drill)
    now = clock.now()
    crisis = Crisis(kind=kind, description=text, affected_functions=",".join(functions), status="resumption",
                    active_slot=DRILL_SLOT if drill else REAL_SLOT, declared_by=user.id, declared_at=now,
                    drill=drill, staff_instructions=(staff_instructions or "").strip() or None)
    try:
        with session.begin_nested():
            session.add(crisis)
            session.flush()
    except (IntegrityError, OperationalError) as err:  # another declaration won the race for the active slot
        if isinstance(err, OperationalError) and not _lost_race(err):
            raise
        _refuse_if_active(session, drill)
        raise Conflict("another disruption was declared at the same moment; reload") from err
    add_system_entry(session, crisis.id, "incident", f"{what_it_is(drill)} declared ({kind_label(kind)}), "
                     f"affecting {functions_text(functions)}: {text}", author_id=user.id)
    session.info[_DECLARING] = crisis
    try:
        instance = instances.start_process(uow, runtime, BCP_PROCESS, user.id, {
            "crisis_id": crisis.id, "kind": kind, "affected_functions": functions, "crisis_lead": user.username,
            "drill": drill})
    finally:
        session.info.pop(_DECLARING, None)
    crisis.instance_id = instance.id
    if crisis.resumption_due_at is None:
        raise Invalid(f"the deployed {BCP_PROCESS} diagram set no resumption deadline "
                      "(its crisis.open_resumption step is missing)")
    uow.audit(user.id, "crisis_declared", "crisis", crisis.id, kind=kind, affected_functions=functions,
              instance_id=instance.id, drill=drill)
    audience = set(ids_with_roles(session, DECLARATION_AUDIENCE))
    viewers = audience & set(ids_with_roles(session, VIEW_ROLES))
    for recipients, link in ((viewers, crisis_link(crisis.id)), (audience - viewers, "/")):
        notifications.notify(uow, recipients, "crisis_declared", declared_words(crisis),
                             body=declaration_words(crisis), link=link, dedupe_key=f"crisis_declared:{crisis.id}")
    log.info("crisis %s declared by %s: %s %s (drill: %s)", crisis.id, user.username, kind, functions, drill)
    uow.commit()
    return crisis


STANDING_INSTRUCTIONS = ("Your crisis checks are first in your inbox: reach each client, confirm they are safe "
                         "and record how their care is affected.")


def staff_instructions(crisis: Crisis) -> str:
    """What staff are to do: the crisis team's instructions, and the crisis checks."""
    own = (crisis.staff_instructions or "").strip()
    return f"{own} {STANDING_INSTRUCTIONS}" if own else STANDING_INSTRUCTIONS


def declared_words(crisis: Crisis) -> Words:
    """The declaration's subject, in each recipient's language."""
    message = N_("Drill declared: %(kind)s affecting %(functions)s") if crisis.drill \
        else N_("Disruption declared: %(kind)s affecting %(functions)s")
    return words(message, kind=labels.kind_words(crisis.kind), functions=labels.FunctionsWords(tuple(crisis.functions)))


def instructions_words(crisis: Crisis) -> Words:
    """``staff_instructions`` in each recipient's language (the crisis team's own words as typed)."""
    own = (crisis.staff_instructions or "").strip()
    if own:
        return words(N_("%(instructions)s Your crisis checks are first in your inbox: reach each client, "
                        "confirm they are safe and record how their care is affected."), instructions=own)
    return words(STANDING_INSTRUCTIONS)


def declaration_words(crisis: Crisis) -> Words:
    """The declaration's message (the notification's body and its e-mail), in each recipient's language."""
    message = N_("This is a DRILL: no client is contacted and no live case record changes. "
                 "Essential services must resume by %(when)s. %(rest)s") if crisis.drill \
        else N_("Essential services must resume by %(when)s. %(rest)s")
    return words(message, when=labels.MomentWords(crisis.resumption_due_at), rest=instructions_words(crisis))


def _refuse_if_active(session, drill: bool = False) -> None:
    active = active_drill(session) if drill else active_crisis(session)
    if active is not None:
        message = N_("drill %(id)s (%(kind)s, declared %(when)s) is still active: add to its disruption log "
                     "instead of declaring a second one") if drill else \
            N_("crisis %(id)s (%(kind)s, declared %(when)s) is still active: add to its disruption log "
               "instead of declaring a second one")
        raise Conflict(message
                       % {"id": active.id, "kind": kind_label(active.kind), "when": when_text(active.declared_at)},
                       active_crisis_id=active.id)


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
                     f"{when_text(crisis.resumption_due_at)} (T+{within_hours:g} h).")
    return {"crisis_id": crisis.id, "due_at": crisis.resumption_due_at.isoformat()}


def set_communication_lead(uow, crisis_id: int, username, actor_id: int | None) -> dict:
    """R36: the Crisis Communication Lead must be an active crisis-team member."""
    session = uow.session
    lead = session.scalar(select(User).where(User.username == username, User.active)) \
        if isinstance(username, str) else None
    if lead is None or not lead.has_role("crisis_team"):
        raise Invalid("the Crisis Communication Lead must be an active member of the crisis response team",
                      errors={"communication_lead": [N_("%(name)s is not an active crisis-team member")
                                                     % {"name": repr(username)}]})
    crisis = load_crisis(session, crisis_id)
    crisis.communication_lead_id = lead.id
    add_system_entry(session, crisis.id, "decision", f"Crisis Communication Lead: {lead.username}.", actor_id)
    uow.audit(actor_id, "crisis_communication_lead_set", "crisis", crisis.id, lead=lead.username)
    notifications.notify(uow, [lead.id], "crisis_role", words(N_("You are the Crisis Communication Lead")),
                         body=words(N_("Inform clients, staff and stakeholders; the tasks are in your inbox.")),
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
                     f"({when_text(due)}): escalated to the director.")
    uow.audit(None, "crisis_escalated", "crisis", crisis.id, notified=sorted(recipients))
    sent = notifications.notify(uow, recipients, "crisis_escalation",
                                words(N_("Resumption overdue: crisis %(id)s not resumed within T+24 h"),
                                      id=crisis.id),
                                body=words(N_("Essential CBF-5 services were not confirmed resumed by %(when)s."),
                                           when=when_text(due)),
                                link=crisis_link(crisis.id), dedupe_key=f"crisis_escalation:{crisis.id}")
    return {"escalated": True, "notified": sent}


def close_crisis(uow, crisis_id: int, actor_id: int | None) -> dict:
    """End of recovery: the crisis stops being active, so a new one can be declared."""
    crisis = load_crisis(uow.session, crisis_id)
    crisis.status, crisis.active_slot, crisis.closed_at = CrisisStatus.CLOSED, None, clock.now()
    add_system_entry(uow.session, crisis.id, "update", "Recovery complete: crisis closed.", actor_id)
    uow.audit(actor_id, "crisis_closed", "crisis", crisis.id)
    return {"closed_at": crisis.closed_at.isoformat()}


def lessons_text(answers: dict) -> str:
    """R40: the lessons-learned task's answers as one text for the disruption report."""
    parts = [str(answers.get("lessons") or "").strip()]
    areas = answers.get("areas")
    if isinstance(areas, list) and areas:
        parts.append("Areas to improve: " + ", ".join(str(a).replace("_", " ") for a in areas) + ".")
    if str(answers.get("bcp_changes") or "").strip():
        parts.append("Proposed changes to the BCP: " + str(answers["bcp_changes"]).strip())
    return "\n".join(p for p in parts if p)


def record_bcp_update(uow, crisis_id: int, actor_id: int | None, updated: bool, changes: str) -> dict:
    """R40: the process owner's BCP update after the lessons learned."""
    crisis = load_crisis(uow.session, crisis_id)
    add_system_entry(uow.session, crisis.id, "update",
                     ("BCP updated after the lessons learned: " if updated else "BCP reviewed, not changed: ")
                     + changes, actor_id)
    uow.audit(actor_id, "bcp_updated" if updated else "bcp_reviewed", "crisis", crisis.id)
    return {"bcp_updated": bool(updated)}
