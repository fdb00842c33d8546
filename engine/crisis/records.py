"""The disruption log and the per-case crisis notes (R39), and what a finished crisis
check records.

Both are append-only: entries are added, never changed or deleted (the models refuse
updates and deletes; the API offers neither). Log entries are written by crisis-team
members (and by the workflow at its milestones). A case's crisis notes record delays,
adjustments to the plan, alternative methods used and follow-up actions; they are part
of the case file, so only people who need to know may read or add them, and every read
and addition is audited.
"""
from __future__ import annotations

import json

from sqlalchemy import func, select

from engine import clock
from engine.crisis.declaration import VIEW_ROLES, load_crisis, require_role
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import AuditEvent, Case, HumanTask, TaskState, User
from engine.models.crisis import (
    ALTERNATIVE_METHODS,
    CASE_NOTE_KINDS,
    LOG_ENTRY_KINDS,
    Crisis,
    CrisisCaseCheck,
    CrisisCaseNote,
    CrisisClientContact,
    CrisisStatus,
    DisruptionLogEntry,
)
from engine.people.directory import get_user
from engine.service_ops import notifications
from engine.service_ops.translations import N_, words

TEXT_MAX = 4000
WRITABLE_NOTE_KINDS = tuple(k for k in CASE_NOTE_KINDS if k != "check")  # "check" notes come from the check form
CASE_NOTE_ROLES = ("crisis_team", "director", "admin")


def _open_crisis(session, crisis_id: int) -> Crisis:
    crisis = load_crisis(session, crisis_id)
    if crisis.status == CrisisStatus.CLOSED:
        raise Conflict(N_("crisis %(id)s is closed: its records are final") % {"id": crisis.id})
    return crisis


def _text(value, field: str, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise Invalid(N_("%(field)s is required") % {"field": field}, errors={field: ["required"]})
    if len(text) > TEXT_MAX:
        raise Invalid(N_("%(field)s is too long") % {"field": field},
                      errors={field: [N_("at most %(most)s characters") % {"most": TEXT_MAX}]})
    return text


# -- disruption log -----------------------------------------------------------------------
def add_log_entry(uow, user_id: int, crisis_id: int, kind, text) -> DisruptionLogEntry:
    """A crisis-team member adds a timestamped entry to the disruption log. Commits."""
    session = uow.session
    user = require_role(session, user_id, ("crisis_team",), "write in the disruption log")
    if kind not in LOG_ENTRY_KINDS:
        raise Invalid("unknown kind of log entry", errors={"kind": [f"one of {', '.join(LOG_ENTRY_KINDS)}"]})
    text = _text(text, "text")
    crisis = _open_crisis(session, crisis_id)
    entry = DisruptionLogEntry(crisis_id=crisis.id, at=clock.now(), author_id=user.id, kind=kind, text=text)
    session.add(entry)
    session.flush()
    uow.audit(user.id, "disruption_log_entry_added", "crisis", crisis.id, entry_id=entry.id, kind=kind)
    uow.commit()
    return entry


def list_log(session, user_id: int, crisis_id: int, limit: int = 100, offset: int = 0):
    """The log, oldest first, with the authors' usernames; and the total."""
    require_role(session, user_id, VIEW_ROLES, "read the disruption log")
    load_crisis(session, crisis_id)
    query = (select(DisruptionLogEntry, User.username).outerjoin(User, User.id == DisruptionLogEntry.author_id)
             .where(DisruptionLogEntry.crisis_id == crisis_id))
    total = session.scalar(select(func.count()).where(DisruptionLogEntry.crisis_id == crisis_id))
    rows = session.execute(query.order_by(DisruptionLogEntry.at, DisruptionLogEntry.id)
                           .limit(limit).offset(offset)).all()
    return [(entry, username) for entry, username in rows], total


# -- per-case crisis notes ------------------------------------------------------------------
def _case_and_check(session, crisis_id: int, case_code: str) -> tuple[Case, CrisisCaseCheck | None]:
    case = session.scalar(select(Case).where(Case.code == case_code))
    if case is None:
        raise NotFound(N_("no case %(code)s") % {"code": case_code})
    check = session.scalar(select(CrisisCaseCheck).where(CrisisCaseCheck.crisis_id == crisis_id,
                                                         CrisisCaseCheck.case_id == case.id))
    return case, check


def _require_need_to_know(user: User, case: Case, check: CrisisCaseCheck | None) -> None:
    if user.has_role(*CASE_NOTE_ROLES):
        return
    if user.id in (case.caseworker_id, case.supervisor_id) or (check is not None and check.assignee_id == user.id):
        return
    raise Forbidden(N_("you are not working on case %(code)s") % {"code": case.code})


def add_case_note(uow, user_id: int, crisis_id: int, case_code: str, kind, text,
                  alternative_methods=None) -> CrisisCaseNote:
    """Document how the disruption affected one case: a delay, an adjustment, the
    alternative methods used, a follow-up action for after restoration. Commits."""
    session = uow.session
    user = get_user(session, user_id)
    crisis = _open_crisis(session, crisis_id)
    case, check = _case_and_check(session, crisis.id, case_code)
    _require_need_to_know(user, case, check)
    errors = {}
    if kind not in WRITABLE_NOTE_KINDS:
        errors["kind"] = [f"one of {', '.join(WRITABLE_NOTE_KINDS)}"]
    methods = alternative_methods or []
    if not isinstance(methods, list) or any(m not in ALTERNATIVE_METHODS for m in methods):
        errors["alternative_methods"] = [f"a list of {', '.join(ALTERNATIVE_METHODS)}"]
    if kind == "alternative_method" and not methods and not errors.get("alternative_methods"):
        errors["alternative_methods"] = ["name the alternative methods used"]
    if errors:
        raise Invalid("the note has invalid fields", errors=errors)
    text = _text(text, "text", required=kind != "alternative_method")
    note = _add_note(session, crisis.id, case, user.id, kind, text, methods)
    uow.audit(user.id, "crisis_case_note_added", "case", case.id, case.code, crisis_id=crisis.id, kind=kind)
    uow.commit()
    return note


def _add_note(session, crisis_id: int, case: Case, author_id, kind: str, text: str, methods) -> CrisisCaseNote:
    note = CrisisCaseNote(crisis_id=crisis_id, case_id=case.id, case_code=case.code, at=clock.now(),
                          author_id=author_id, kind=kind, alternative_methods=",".join(sorted(set(methods))),
                          text=text)
    session.add(note)
    session.flush()
    return note


def list_case_notes(uow, user_id: int, crisis_id: int, case_code: str | None = None,
                    limit: int = 100, offset: int = 0):
    """One case's crisis notes (its people and the crisis team), or every case's (crisis
    team, directors); each case whose notes are read gets an audit row. Commits."""
    session = uow.session
    user = get_user(session, user_id)
    load_crisis(session, crisis_id)
    query = select(CrisisCaseNote, User.username).outerjoin(User, User.id == CrisisCaseNote.author_id) \
        .where(CrisisCaseNote.crisis_id == crisis_id)
    if case_code is not None:
        case, check = _case_and_check(session, crisis_id, case_code)
        _require_need_to_know(user, case, check)
        query = query.where(CrisisCaseNote.case_id == case.id)
    elif not user.has_role(*CASE_NOTE_ROLES):
        raise Forbidden("only the crisis team and directors see every case's crisis notes")
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(CrisisCaseNote.at, CrisisCaseNote.id).limit(limit).offset(offset)).all()
    for code in sorted({note.case_code for note, _ in rows}):
        uow.audit(user.id, "crisis_case_notes_viewed", "crisis", crisis_id, code)
    uow.commit()
    return list(rows), total


# -- what a crisis check records ------------------------------------------------------
CHECK_ROLES = ("crisis_team", "director")  # besides the check's assignee and the case's caseworker and supervisor


def _checked_case(session, check: CrisisCaseCheck, actor_id: int | None) -> Case:
    """The case of ``check``, once the person recording it (if a person does) is one who
    may: the check's assignee (or whom a supervisor handed its task to), the case's
    caseworker or supervisor, the crisis team or a director. Anyone else — say a caseworker
    who claimed an unassigned check task of someone else's case — is refused before
    anything is written."""
    case = session.get(Case, check.case_id)
    if case is None:
        raise NotFound(N_("no case %(code)s") % {"code": check.case_code})
    if actor_id is None or actor_id in (check.assignee_id, case.caseworker_id, case.supervisor_id):
        return case
    if get_user(session, actor_id).has_role(*CHECK_ROLES) or _handed_to(session, check, actor_id):
        return case
    raise Forbidden(N_("the crisis check of case %(code)s is not yours to record: it belongs to its assignee, "
                       "the case's caseworker and supervisor, the crisis team and the director") % {"code": case.code})


def _handed_to(session, check: CrisisCaseCheck, actor_id: int) -> bool:
    """A supervisor reassigned this check's open task to ``actor_id`` (the audited
    ``task_reassigned``): they stand in for the assignee. Claiming an unassigned check
    task oneself gives no such right."""
    held = list(session.scalars(select(HumanTask.id).where(HumanTask.instance_id == check.instance_id,
                                                           HumanTask.assignee_id == actor_id,
                                                           HumanTask.state == TaskState.READY)))
    if not held:
        return False
    handovers = session.scalars(select(AuditEvent.detail_json).where(
        AuditEvent.action == "task_reassigned", AuditEvent.subject_type == "human_task",
        AuditEvent.subject_id.in_(held)))
    return any(json.loads(detail).get("assignee_id") == actor_id for detail in handovers)


def record_check(uow, check: CrisisCaseCheck, actor_id: int | None, answers: dict) -> dict:
    """The check form's answers on the check row, and its delays, adjustments,
    alternative methods and follow-up actions as the case's crisis notes (R39). A client
    found unsafe, or needing immediate action, is flagged to the case's supervisor and
    caseworker at once."""
    session = uow.session
    case = _checked_case(session, check, actor_id)
    crisis_id = check.crisis_id
    check.checked_at, check.checked_by = clock.now(), actor_id
    check.client_reached = bool(answers.get("client_reached"))
    check.client_safe = bool(answers.get("client_safe"))
    check.reassessment_needed = bool(answers.get("reassessment_needed"))
    method = answers.get("contact_method")
    if check.client_reached and check.reached_at is None:
        check.reached_at = check.checked_at  # the time to reach the case (R54: measured in drills too)
    record_contact(session, check, actor_id, method, check.client_reached)
    summary = f"Crisis check: client {'reached' if check.client_reached else 'NOT reached'}" \
              f"{f' ({method.replace(chr(95), chr(32))})' if isinstance(method, str) else ''}, " \
              f"{'safe' if check.client_safe else 'NOT SAFE'}."
    _add_note(session, crisis_id, case, actor_id, "check", summary, [])
    for field, kind in (("delays", "delay"), ("adjustments", "adjustment"), ("follow_up_actions", "follow_up_action")):
        text = (answers.get(field) or "").strip()
        if text:
            _add_note(session, crisis_id, case, actor_id, kind, text, [])
    methods = [m for m in answers.get("alternative_methods") or [] if m in ALTERNATIVE_METHODS]
    if methods:
        _add_note(session, crisis_id, case, actor_id, "alternative_method", "", methods)
    alert = not check.client_safe or bool(answers.get("immediate_action_needed"))
    if alert:
        drill = _is_drill(session, crisis_id)
        subject = {(False, False): N_("Case %(code)s: client not safe"),
                   (False, True): N_("Drill — Case %(code)s: client not safe"),
                   (True, False): N_("Case %(code)s: immediate action needed"),
                   (True, True): N_("Drill — Case %(code)s: immediate action needed")}[(bool(check.client_safe), drill)]
        notifications.notify(uow, {case.supervisor_id, case.caseworker_id} - {actor_id}, "crisis_check_alert",
                             words(subject, code=case.code),
                             body=words(N_("Found during the crisis check; see the case's crisis notes.")),
                             case_code=case.code,
                             link="/", dedupe_key=f"crisis_check_alert:{crisis_id}:{case.id}")
    uow.audit(actor_id, "crisis_check_recorded", "case", case.id, case.code, crisis_id=crisis_id,
              client_reached=check.client_reached, client_safe=check.client_safe, alert=alert)
    return {"checked": True, "alert": alert}


# how the check form's "How" answer was a contact (seed 000: SMS, email, phone; visits)
CHECK_CONTACT_CHANNELS = {"phone": "phone", "video_call": "phone", "through_partner": "phone", "not_reached": "phone",
                          "sms": "sms", "email": "email", "home_visit": "visit", "office_visit": "visit"}


def record_contact(session, check: CrisisCaseCheck, actor_id: int | None, method, made: bool) -> None:
    """The contact the check made or tried, among the case's contacts of this crisis."""
    channel = CHECK_CONTACT_CHANNELS.get(method) if isinstance(method, str) else None
    if channel is None:
        return
    now = clock.now()
    session.add(CrisisClientContact(crisis_id=check.crisis_id, case_id=check.case_id, case_code=check.case_code,
                                    channel=channel, template=None, attempted_at=now, attempted_by=actor_id,
                                    done_at=now, state="made" if made else "not_reached",
                                    detail="during the crisis check"))


def _is_drill(session, crisis_id: int) -> bool:
    return bool(session.scalar(select(Crisis.drill).where(Crisis.id == crisis_id)))


def record_reassessment(uow, check: CrisisCaseCheck, actor_id: int | None, answers: dict) -> dict:
    """R40: the client's reassessment after the disruption, as a crisis note."""
    session = uow.session
    case = _checked_case(session, check, actor_id)
    check.reassessed_at = clock.now()
    support = ", ".join(answers.get("additional_support") or []) or "none"
    text = (f"Reassessed after the disruption: needs {'changed' if answers.get('needs_changed') else 'unchanged'}; "
            f"additional support: {support}. {(answers.get('plan_changes') or '').strip()}").strip()
    _add_note(session, check.crisis_id, case, actor_id, "adjustment", text, [])
    uow.audit(actor_id, "crisis_reassessment_recorded", "case", case.id, case.code, crisis_id=check.crisis_id)
    return {"reassessed": True}
