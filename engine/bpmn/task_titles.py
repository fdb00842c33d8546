"""Task titles that name their subject: "Record the outcome of the referral to Legal Aid
Clinic", "Admission conference: your vote".

A user task's ``title`` property may hold ``{placeholders}``. Each names one of
:data:`TITLE_FIELDS`: a field of a record of the instance's *own* case, reached through an
id the task data holds (the record is read from its table, and one of another case is
never shown), or a flag of the task data shown in words. Nothing else can be named — never
a client's name (R32): inbox rows, notifications and the API list titles.

A title whose placeholder cannot be filled (no such field, no such record, an id of another
case) falls back to the element's name, so a row always has words for people.
"""
from __future__ import annotations

import logging
import string
from dataclasses import dataclass

from sqlalchemy import select

from engine.models import Case, ServiceReferral, Vocabulary
from engine.models.case import ClosureReason
from engine.models.case_decisions import ClosureRequest, Conference, ConferenceKind

log = logging.getLogger(__name__)

MAX_TITLE = 300  # human_tasks.title
MAX_FIELD = 120  # a record field shown in a title is cut to this (a provider's name is up to 200)


@dataclass(frozen=True)
class RecordField:
    """``column`` of the ``model`` row whose id the task data holds in ``id_variable``
    (shown by its label when the column holds a vocabulary)."""
    model: type
    id_variable: str
    column: str
    vocabulary: type[Vocabulary] | None = None


@dataclass(frozen=True)
class FlagField:
    """Words for a yes/no flag of the task data."""
    variable: str
    when_true: str
    when_false: str


TitleField = RecordField | FlagField

TITLE_FIELDS: dict[str, TitleField] = {
    "referral_provider": RecordField(ServiceReferral, "referral_id", "provider"),
    "referral_service": RecordField(ServiceReferral, "referral_id", "service"),
    "conference_kind": RecordField(Conference, "conference_id", "kind", ConferenceKind),
    "closure_reason": RecordField(ClosureRequest, "closure_id", "reason", ClosureReason),
    "review_kind": FlagField("early", "early review, the situation worsened", "scheduled review"),
}


class _Unfilled(Exception):
    """A placeholder of a title that cannot be filled in."""


def placeholders(template: str) -> list[str]:
    """The field names ``template`` uses; [] for a title without any (or with stray braces)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:
        return []


def task_title(session, case_code: str | None, template: str, data: dict, fallback: str) -> str:
    """``template`` with its placeholders filled from the case's records and ``data``."""
    names = placeholders(template)
    if not names:
        return template[:MAX_TITLE]
    try:
        case_id = session.scalar(select(Case.id).where(Case.code == case_code)) if case_code else None
        values = {name: _value(session, case_id, name, data) for name in set(names)}
        return string.Formatter().vformat(template, (), values)[:MAX_TITLE]
    except _Unfilled as why:
        log.info("title %r: %s; the element's name is shown", template, why)
        return fallback[:MAX_TITLE]


def _value(session, case_id: int | None, name: str, data: dict) -> str:
    field = TITLE_FIELDS.get(name)
    if field is None or not name.isidentifier():
        raise _Unfilled(f"{name!r} is not a title field")
    if isinstance(field, FlagField):
        return field.when_true if data.get(field.variable) is True else field.when_false
    record_id = data.get(field.id_variable)
    if case_id is None or not isinstance(record_id, int) or isinstance(record_id, bool):
        raise _Unfilled(f"no {field.id_variable} of a case in the task data")
    row = session.get(field.model, record_id)
    if row is None or row.case_id != case_id:
        raise _Unfilled(f"no {field.model.__name__} {record_id} on this case")
    value = getattr(row, field.column)
    if value is None or value == "":
        raise _Unfilled(f"{name} is empty")
    words = field.vocabulary.label_of(value) if field.vocabulary else str(value)
    return words if len(words) <= MAX_FIELD else words[:MAX_FIELD - 1] + "…"
