"""Handover between caseworkers (R29, 003 §5.2.4; 001 §3.6 for a whole caseload): the use
case that starts one, what the caseworker who handed over may still see, and the
``handover.*`` operations of the ``case_handover`` and ``case_handover_file`` diagrams.

A supervisor of the caseworker (or the director) hands over a caseload, or some of its
cases, to another caseworker they choose. The handover gets its process (handover
document, team briefing, the shadowing period of DMN ``staff_timeframes``
``handover_shadow``) and every case its own short process (file review, then the move
through ``assignment.reassign_case``, then the client's briefing). Until the shadowing
period ends the caseworker who handed over may read those cases' files and see the new
caseworker's tasks on them, and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.bpmn.runtime import ProcessRuntime
from engine.case import assignment, files, record_locks
from engine.case import processes as case_processes
from engine.case.operations.intake import case_of, finish
from engine.case.records import load_case, record_event, take_text
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import Case, CaseStatus, HumanTask, TaskState, Timer, TimerState, User
from engine.models.case import ACTIVE_STATUSES
from engine.models.handovers import Handover, HandoverCase, HandoverKind, HandoverStatus
from engine.people.directory import get_user, supervisee_ids, user_named, usernames
from engine.process import instances
from engine.service_ops.translations import N_

HANDOVER_PROCESS = "case_handover"
CASE_PROCESS = "case_handover_file"
MAX_CASES = 200  # one request moves at most this many cases (a caseload is far smaller)
MAX_REASON = 2000


@dataclass(frozen=True)
class HandoverView:
    handover: Handover
    from_caseworker: str | None
    to_caseworker: str | None
    requested_by: str | None
    case_codes: list[str]
    shadowing: bool
    shadow_tasks: list[HumanTask]  # the new caseworker's open tasks on these cases (while shadowing)


def _caseworker(session, name: str | None, field: str) -> User:
    user = user_named(session, name)
    if user is None or "caseworker" not in user.roles:
        raise Invalid(N_("%(name)s is not an active caseworker") % {"name": repr(name)},
                      errors={field: ["the username of an active caseworker"]})
    return user


def start_handover(uow, runtime: ProcessRuntime, actor_id: int, from_caseworker: str, to_caseworker: str,
                   reason: str, case_codes: list[str] | None = None) -> Handover:
    """Hand over ``case_codes`` of ``from_caseworker`` (all their active cases when None: the
    caseworker is leaving) to ``to_caseworker``. Refused, with nothing written, unless the
    actor supervises the caseworker (or is the director) and every case is an active case
    of that caseworker. Commits."""
    session = uow.session
    actor = get_user(session, actor_id)
    leaving = _caseworker(session, from_caseworker, "from_caseworker")
    new = _caseworker(session, to_caseworker, "to_caseworker")
    if new.id == leaving.id:
        raise Invalid("a caseworker cannot hand over to themselves", errors={"to_caseworker": ["someone else"]})
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise Invalid("say why the cases change hands", errors={"reason": [f"1 to {MAX_REASON} characters"]})
    if not actor.has_role("supervisor", "director") or (
            "director" not in actor.roles and leaving.id not in supervisee_ids(session, actor.id)):
        raise Forbidden(N_("only a supervisor of %(username)s or the director hands over their cases")
                        % {"username": leaving.username})
    cases = _cases_to_move(session, leaving, case_codes)
    kind = HandoverKind.LEAVING if case_codes is None else HandoverKind.CASE_MOVE
    if session.scalar(select(HandoverCase.id).join(Handover, Handover.id == HandoverCase.handover_id).where(
            HandoverCase.case_id.in_([c.id for c in cases]), HandoverCase.moved_at.is_(None),
            Handover.status == HandoverStatus.SHADOWING).limit(1)) is not None:
        raise Conflict("some of these cases are already being handed over")
    handover = Handover(kind=kind, from_caseworker_id=leaving.id, to_caseworker_id=new.id, requested_by=actor.id,
                        reason=reason, status=HandoverStatus.SHADOWING, created_at=clock.now())
    session.add(handover)
    session.flush()
    people = {"handover_kind": kind.value, "caseworker": leaving.username, "new_caseworker": new.username,
              "supervisor": actor.username}
    main = instances.start_process(uow, runtime, HANDOVER_PROCESS, actor.id, people)
    handover.instance_id = main.id
    handover.shadow_until = session.scalar(select(func.min(Timer.due_at)).where(
        Timer.instance_id == main.id, Timer.state == TimerState.PENDING))
    for case in cases:
        item = HandoverCase(handover_id=handover.id, case_id=case.id)
        session.add(item)
        session.flush()
        started = case_processes.start_case_process(
            uow, runtime, CASE_PROCESS, case, actor.id,
            {"handover_kind": kind.value, "new_caseworker": new.username, "reviewer": actor.username},
            parent_instance_id=main.id)
        item.instance_id = started.id
        record_event(uow, case, actor.id, "assignment", f"handover to {new.username} started: {reason}",
                     form="handover", handover_id=handover.id)
    uow.audit(actor.id, "handover_started", "handover", handover.id, kind=kind.value, from_caseworker=leaving.username,
              to_caseworker=new.username, cases=[c.code for c in cases])
    uow.commit()
    return handover


def _cases_to_move(session, leaving: User, case_codes: list[str] | None) -> list[Case]:
    """The caseworker's active cases named (all of them when None), each once."""
    query = select(Case).where(Case.caseworker_id == leaving.id, Case.status.in_(ACTIVE_STATUSES))
    if case_codes is None:
        cases = list(session.scalars(query.order_by(Case.code).limit(MAX_CASES + 1)))
        if not cases:
            raise Invalid(N_("%(username)s has no active cases to hand over") % {"username": leaving.username},
                          errors={"from_caseworker": ["no active cases"]})
    else:
        wanted = {c for c in case_codes if isinstance(c, str)}
        if not wanted or len(wanted) != len(case_codes) or len(wanted) > MAX_CASES:
            raise Invalid(N_("name each case once, at most %(most)s") % {"most": MAX_CASES},
                          errors={"case_codes": ["distinct case codes"]})
        cases = list(session.scalars(query.where(Case.code.in_(wanted)).order_by(Case.code)))
        missing = sorted(wanted - {c.code for c in cases})
        if missing:
            raise Invalid(N_("not active cases of %(username)s: %(codes)s")
                          % {"username": leaving.username, "codes": ", ".join(missing[:20])},
                          errors={"case_codes": [N_("%(code)s is not theirs or not active") % {"code": code}
                                                 for code in missing[:20]]})
    if len(cases) > MAX_CASES:
        raise Invalid(N_("at most %(most)s cases at a time: name the cases to hand over") % {"most": MAX_CASES},
                      errors={"case_codes": [N_("at most %(most)s") % {"most": MAX_CASES}]})
    return cases


# -- shadowing: what the caseworker who handed over may still see -----------------------------
def _shadowing(handover: Handover) -> bool:
    return (handover.status == HandoverStatus.SHADOWING and handover.shadow_until is not None
            and clock.now() < handover.shadow_until)


def _may_see_handover(session, user: User, handover: Handover) -> bool:
    if user.id in (handover.from_caseworker_id, handover.to_caseworker_id, handover.requested_by):
        return True
    return "director" in user.roles or handover.from_caseworker_id in supervisee_ids(session, user.id)


def view_handover(uow, user_id: int, handover_id: int) -> HandoverView:
    """A handover, for the two caseworkers, its supervisors and the director; while the
    shadowing runs the caseworker who handed over sees the new caseworker's open tasks on
    those cases. Audited. Commits."""
    session = uow.session
    user = get_user(session, user_id)
    handover = session.get(Handover, handover_id)
    if handover is None or not _may_see_handover(session, user, handover):
        raise NotFound(N_("no handover %(id)s") % {"id": handover_id})
    codes = list(session.scalars(select(Case.code).join(HandoverCase, HandoverCase.case_id == Case.id)
                                 .where(HandoverCase.handover_id == handover.id).order_by(Case.code)))
    shadowing = _shadowing(handover)
    tasks: list[HumanTask] = []
    if shadowing or user.id != handover.from_caseworker_id:
        tasks = list(session.scalars(select(HumanTask).where(
            HumanTask.case_code.in_(codes), HumanTask.state == TaskState.READY,
            HumanTask.assignee_id == handover.to_caseworker_id).order_by(HumanTask.due_at, HumanTask.id)))
    names = usernames(session, [handover.from_caseworker_id, handover.to_caseworker_id, handover.requested_by])
    uow.audit(user.id, "handover_viewed", "handover", handover.id, shadowing=shadowing)
    uow.commit()
    return HandoverView(handover, names.get(handover.from_caseworker_id), names.get(handover.to_caseworker_id),
                        names.get(handover.requested_by), codes, shadowing, tasks)


def shadow_case_file(uow, user_id: int, handover_id: int, case_code: str) -> files.CaseFile:
    """A case file of a handover, read by the caseworker who handed it over while the
    shadowing runs (no strictly confidential section); 403 once it has ended. Everyone
    else reads case files through ``files.get_case_file``. Audited. Commits."""
    session = uow.session
    user = get_user(session, user_id)
    handover = session.get(Handover, handover_id)
    case = load_case(session, case_code)
    if handover is None or user.id != handover.from_caseworker_id or session.scalar(select(HandoverCase.id).where(
            HandoverCase.handover_id == handover.id, HandoverCase.case_id == case.id)) is None:
        raise NotFound(N_("no case %(code)s in a handover of yours") % {"code": case_code})
    if not _shadowing(handover):
        raise Forbidden(N_("the shadowing period of this handover has ended: case %(code)s is no longer yours to see")
                        % {"code": case.code})
    open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_code == case.code,
                                                              HumanTask.state == TaskState.READY)))
    names_locked = record_locks.current(session).names  # R50: no name while the crisis team has them locked
    uow.audit(user.id, "case_file_viewed", "case", case.id, case.code, name_shown=not names_locked,
              shadowing=handover.id)
    client = None if names_locked else files.linked_client(session, case)
    record = files.load_case_file(session, case, client, open_tasks, confidential=False)
    if names_locked:
        record.locked = [record_locks.NAMES_LOCKED]
    uow.commit()
    return record


# -- operations --------------------------------------------------------------------------------
def _handover(ctx: OperationContext) -> Handover:
    handover = ctx.uow.session.scalar(select(Handover).where(Handover.instance_id == ctx.instance.id))
    if handover is None:
        raise NotFound(f"process instance {ctx.instance.id} carries no handover (handovers start through "
                       "POST /api/handovers)")
    return handover


def _handover_case(ctx: OperationContext) -> tuple[HandoverCase, Handover]:
    item = ctx.uow.session.scalar(select(HandoverCase).where(HandoverCase.instance_id == ctx.instance.id))
    if item is None:
        raise NotFound(f"process instance {ctx.instance.id} carries no case of a handover")
    return item, ctx.uow.session.get(Handover, item.handover_id)


def _require(ctx: OperationContext, allowed: set[int], doing: str) -> None:
    if ctx.actor_id is None or ctx.actor_id in allowed:
        return
    user = get_user(ctx.uow.session, ctx.actor_id)
    if "director" not in user.roles:
        raise Forbidden(f"{doing} is not yours to do")


@operation("handover.record_document")
def record_document(ctx: OperationContext, data: dict) -> dict:
    """The handover document of the caseworker who hands over (or a supervisor for them)."""
    handover = _handover(ctx)
    _require(ctx, {handover.from_caseworker_id, handover.requested_by}, "the handover document")
    texts = take_text(data, "handover_document")
    handover.document, handover.document_at = texts.get("handover_document", ""), clock.now()
    ctx.uow.audit(ctx.actor_id, "handover_document", "handover", handover.id,
                  files_up_to_date=data.get("files_up_to_date"))
    return {"recorded": True}


@operation("handover.record_team_briefing")
def record_team_briefing(ctx: OperationContext, data: dict) -> dict:
    """The team (the case supervisor included) has been briefed."""
    handover = _handover(ctx)
    _require(ctx, {handover.requested_by}, "the team briefing")
    texts = take_text(data, "briefing_notes")
    handover.team_briefed_at, handover.team_briefing = clock.now(), texts.get("briefing_notes", "")
    ctx.uow.audit(ctx.actor_id, "handover_team_briefed", "handover", handover.id)
    return {"recorded": True}


@operation("handover.end_shadowing")
def end_shadowing(ctx: OperationContext, data: dict) -> dict:
    """The shadowing period is over: the caseworker who handed over sees the cases no more."""
    handover = _handover(ctx)
    _require(ctx, set(), "ending a handover")
    handover.status, handover.completed_at = HandoverStatus.COMPLETED, clock.now()
    ctx.uow.audit(ctx.actor_id, "handover_completed", "handover", handover.id)
    return {"completed": True}


@operation("handover.move_case")
def move_case(ctx: OperationContext, data: dict) -> dict:
    """After the file review the case moves, its open tasks with it (``reassign_case``:
    the reviewer must be a supervisor of the case). A case closed meanwhile stays put."""
    case = case_of(ctx)
    item, handover = _handover_case(ctx)
    if ctx.actor_id is None:
        raise Forbidden("a case is moved by the supervisor who reviewed its file")
    texts = take_text(data, "file_findings")
    item.file_reviewed_at, item.file_reviewed_by = clock.now(), ctx.actor_id
    item.file_findings = texts.get("file_findings", "")
    record_event(ctx.uow, case, ctx.actor_id, "form", f"file reviewed for handover: {data.get('file_complete')}",
                 form="case_handover_file_review", handover_id=handover.id, file_complete=data.get("file_complete"),
                 consent_confirmed=data.get("consent_confirmed"), **texts)
    if case.status == CaseStatus.CLOSED or case.caseworker_id != handover.from_caseworker_id:
        record_event(ctx.uow, case, ctx.actor_id, "assignment", "handover: the case no longer needs moving",
                     handover_id=handover.id)
        return finish(ctx, case, data, moved=False)
    new = ctx.uow.session.get(User, handover.to_caseworker_id)
    if new is None or "caseworker" not in new.roles or not new.active:
        raise Conflict("the caseworker taking over is no longer an active caseworker; start a new handover")
    assignment.reassign_case(ctx.uow, ctx.actor_id, case.code, new.username, f"handover: {handover.reason}")
    item.moved_at = clock.now()
    return finish(ctx, case, data, moved=True)


@operation("handover.record_client_briefing")
def record_client_briefing(ctx: OperationContext, data: dict) -> dict:
    """The child and family were told about their new caseworker (003 §5.2.4)."""
    case = case_of(ctx)
    item, handover = _handover_case(ctx)
    texts = take_text(data, "client_words")
    item.client_briefed_at = clock.now()
    record_event(ctx.uow, case, ctx.actor_id, "form", "client briefed on the change of caseworker",
                 form="case_handover_client_briefing", handover_id=handover.id,
                 with_previous_caseworker=data.get("with_previous_caseworker"), **texts)
    return finish(ctx, case, data, briefed=True)
