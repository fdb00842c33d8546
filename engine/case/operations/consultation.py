"""``case.*`` operations of ``case_consultation`` (R49): who answers (the supervisor, or the
director when the supervisor is absent), the question passed to the director when the
supervisor has not answered in time, and the answer kept in the case's timeline and
audited."""
from __future__ import annotations

from engine.bpmn.operations import OperationContext, operation
from engine.case.consultation import project_director, supervisor_present
from engine.case.operations.intake import case_of, finish
from engine.case.records import record_event, take_text
from engine.errors import Forbidden, Invalid
from engine.models import Case
from engine.people import access
from engine.people.directory import get_user, supervisee_ids


@operation("case.consultation_route")
def consultation_route(ctx: OperationContext, data: dict) -> dict:
    """``supervisor_present`` and ``director`` (the username the director's task goes to)."""
    case = case_of(ctx)
    session = ctx.uow.session
    present = supervisor_present(session, case)
    data["supervisor_present"] = present
    data["director"] = project_director(session)
    if not present:
        record_event(ctx.uow, case, None, "escalation",
                     "urgent consultation asked of the director: the supervisor is absent")
    return finish(ctx, case, data, supervisor_present=present)


@operation("case.record_consultation_escalated")
def record_consultation_escalated(ctx: OperationContext, data: dict) -> dict:
    case = case_of(ctx)
    data["escalated"] = True
    record_event(ctx.uow, case, ctx.actor_id, "escalation",
                 "urgent consultation passed to the director: the supervisor did not answer in time")
    ctx.uow.audit(ctx.actor_id, "case_consultation_escalated", "case", case.id, case.code)
    return finish(ctx, case, data)


def _adviser(ctx: OperationContext, case: Case, data: dict) -> str:
    """Who answered, in words: ``supervisor`` or ``director``. The answer is a supervisor's
    or the director's, never the caseworker's own."""
    if ctx.actor_id is None:
        return "director" if data.get("escalated") or not data.get("supervisor_present", True) else "supervisor"
    user = get_user(ctx.uow.session, ctx.actor_id)
    if ctx.actor_id == case.caseworker_id or not access.may_see_confidential(
            user, case, supervisee_ids(ctx.uow.session, user.id)):
        raise Forbidden("only a supervisor of the case or the director answers an urgent consultation on it")
    return "director" if user.id != case.supervisor_id and "director" in user.roles else "supervisor"


@operation("case.record_consultation_answer")
def record_consultation_answer(ctx: OperationContext, data: dict) -> dict:
    case = case_of(ctx)
    answered_by = _adviser(ctx, case, data)
    advice = data.get("advice")
    if not isinstance(advice, str) or not advice.strip():
        raise Invalid("an answer to an urgent consultation gives advice", errors={"advice": ["give your advice"]})
    texts = take_text(data, "advice", "decision")
    escalated = bool(data.get("escalated"))
    record_event(ctx.uow, case, ctx.actor_id, "form", "urgent consultation answered", form="case_consultation_answer",
                 answered_by=answered_by, **texts)
    ctx.uow.audit(ctx.actor_id, "case_consultation_answered", "case", case.id, case.code,
                  answered_by=answered_by, escalated=escalated,
                  decision_taken="decision" in texts)
    return finish(ctx, case, data)
