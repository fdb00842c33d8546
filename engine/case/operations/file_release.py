"""``case.*`` operations of ``case_file_release`` (R51): the request recorded, the screened
copy produced and its release audited, or the refusal and its reason kept.

The names a supervisor withholds are taken out of the data the following steps see once
used (workflow data holds ids and flags, and these are other people's details); the
completed screening task keeps its own answers in the instance's saved state, as every
completed task does.
"""
from __future__ import annotations

import datetime as dt

from engine.bpmn.operations import OperationContext, operation
from engine.case.file_release import REQUESTERS, may_handle, screened_copy
from engine.case.operations.intake import case_of, finish
from engine.case.records import record_event, take_text
from engine.errors import Forbidden, Invalid
from engine.models import Case
from engine.people.directory import get_user, supervisee_ids

MAX_NAMES, MAX_DATES = 50, 100


def _screener(ctx: OperationContext, case: Case) -> None:
    """The screening is a supervisor's (or the director's), never the caseworker's own."""
    if ctx.actor_id is None:
        return
    user = get_user(ctx.uow.session, ctx.actor_id)
    if ctx.actor_id == case.caseworker_id or not may_handle(user, case, supervisee_ids(ctx.uow.session, user.id)):
        raise Forbidden("only a supervisor of the case or the director screens a case file before it is shared")


def _requested_by(value) -> str:
    if value not in REQUESTERS:
        raise Invalid("the release does not say who asked", errors={"requested_by": list(REQUESTERS)})
    return value


@operation("case.record_file_request")
def record_file_request(ctx: OperationContext, data: dict, requested_by=None) -> dict:
    case = case_of(ctx)
    texts = take_text(data, "request_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", "asked to see the case file", form="case_file_request",
                 requested_by=_requested_by(requested_by), requested_on=data.get("requested_on"),
                 how_to_share=data.get("how_to_share"), **texts)
    return finish(ctx, case, data)


def _withheld(data: dict) -> tuple[list[str], list[str]]:
    names, dates = data.pop("withheld_names", None) or [], data.pop("withheld_note_dates", None) or []
    errors = {}
    if not isinstance(names, list) or len(names) > MAX_NAMES or not all(isinstance(n, str) for n in names):
        errors["withheld_names"] = [f"at most {MAX_NAMES} names"]
    if not isinstance(dates, list) or len(dates) > MAX_DATES or not all(isinstance(d, str) for d in dates):
        errors["withheld_note_dates"] = [f"at most {MAX_DATES} dates"]
    else:
        try:
            dates = [dt.date.fromisoformat(d).isoformat() for d in dates]
        except ValueError:
            errors["withheld_note_dates"] = ["dates as YYYY-MM-DD"]
    if errors:
        raise Invalid("the screening could not be read", errors=errors)
    return names, dates


@operation("case.release_screened_file")
def release_screened_file(ctx: OperationContext, data: dict, requested_by=None) -> dict:
    """The screened copy, kept in the case file; its release, to whom and what was held
    back, in the audit trail."""
    case = case_of(ctx)
    _screener(ctx, case)
    who = _requested_by(requested_by)
    names, dates = _withheld(data)
    copy = screened_copy(ctx.uow.session, case, names, dates)
    texts = take_text(data, "screening_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", "case file released, screened", form="case_file_screening",
                 released_to=who, screened_copy=copy, **texts)
    ctx.uow.audit(ctx.actor_id, "case_file_released", "case", case.id, case.code, released_to=who,
                  notes_shared=len(copy["notes"]), notes_left_out=copy["notes_left_out"],
                  names_withheld=copy["names_withheld"], confidential_section="left out")
    return finish(ctx, case, data, released=True)


@operation("case.refuse_file_release")
def refuse_file_release(ctx: OperationContext, data: dict, requested_by=None) -> dict:
    """A refusal always carries its reason (told to the person who asked)."""
    case = case_of(ctx)
    _screener(ctx, case)
    who = _requested_by(requested_by)
    data.pop("withheld_names", None)
    data.pop("withheld_note_dates", None)
    reason = data.get("refusal_reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("a refusal to share the case file says why", errors={"refusal_reason": ["say why"]})
    texts = take_text(data, "refusal_reason", "screening_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", "request to see the case file refused",
                 form="case_file_screening", requested_by=who, **texts)
    ctx.uow.audit(ctx.actor_id, "case_file_release_refused", "case", case.id, case.code, requested_by=who,
                  reason=texts["refusal_reason"])
    return finish(ctx, case, data, released=False)
