"""Contacts and notes on a case file, written at any time, not only inside a task (DOMAIN §3:
"case notes record each contact, direct or indirect"; R33: every note carries the date,
the case code, the status, the caseworker and the supervisor of its moment).

A note is either a *contact* (direct — with the child or family — or indirect, when it
happened and how) or a plain *note*; either may go into the strictly confidential section,
which only those ``access.may_see_confidential`` allows write and read. The text is kept
exactly as written (line endings made uniform): the client's own words matter, so nothing
is stripped; pages escape it when they show it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select

from engine import clock
from engine.case import record_locks
from engine.case.records import load_case
from engine.errors import Forbidden, Invalid
from engine.models import CaseNote, HumanTask, TaskState
from engine.models.case import ContactMethod, ContactType, NoteKind
from engine.people import access
from engine.people.directory import get_user, name_of, supervisee_ids, usernames
from engine.service_ops.translations import N_

NOTE_MAX = 8000  # characters of one note's text
WRITABLE_KINDS = (NoteKind.CONTACT.value, NoteKind.NOTE.value)  # follow-ups are written by their task
EARLIEST_CONTACT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
FUTURE_SLACK = dt.timedelta(minutes=5)  # clocks differ a little between a browser and the server
_ALLOWED_CONTROLS = {"\n", "\t"}


@dataclass(frozen=True)
class NoteLine:
    """One contact or note as the case file shows it, with its R33 header."""
    id: int
    kind: str
    contact_type: str | None
    contact_method: str | None
    contact_at: dt.datetime | None
    text: str
    confidential: bool
    author: str | None
    at: dt.datetime        # the date it was written
    case_code: str
    case_status: str       # the status, caseworker and supervisor when it was written
    caseworker: str | None
    supervisor: str | None


def note_lines(session, case_code: str, notes: list[CaseNote]) -> list[NoteLine]:
    """The notes of one case with the people of their headers named (usernames, never a client)."""
    names = usernames(session, [n.author_id for n in notes] + [n.caseworker_id for n in notes]
                      + [n.supervisor_id for n in notes])
    return [NoteLine(n.id, n.kind, n.contact_type, n.contact_method, n.contact_at, n.text, n.confidential,
                     name_of(names, n.author_id), n.at, case_code, n.case_status, name_of(names, n.caseworker_id),
                     name_of(names, n.supervisor_id)) for n in notes]


def _text(value, errors: dict) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["text"] = ["Write what happened or what you want to note"]
        return ""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > NOTE_MAX:
        errors["text"] = [f"Shorten the note to {NOTE_MAX:,} characters or fewer (it has {len(text):,})"]
    elif any(ord(ch) < 32 and ch not in _ALLOWED_CONTROLS for ch in text) or "\x7f" in text:
        errors["text"] = ["Remove the invisible control characters from the note"]
    return text


def _when(value, errors: dict) -> dt.datetime | None:
    if value in (None, ""):
        errors["contact_at"] = ["Say when the contact happened"]
        return None
    if isinstance(value, dt.datetime):
        when = value
    else:
        try:
            when = dt.datetime.fromisoformat(str(value))
        except ValueError:
            errors["contact_at"] = ["Give the date and time of the contact"]
            return None
    when = clock.as_utc(when)  # a time without an offset is read as UTC, the time the pages show
    if when > clock.now() + FUTURE_SLACK:
        errors["contact_at"] = ["A contact cannot be in the future: give when it happened"]
    elif when < EARLIEST_CONTACT:
        errors["contact_at"] = ["Give a date after 1900"]
    return when


def _contact(kind: str, contact_type, contact_method, contact_at, errors: dict):
    if kind != NoteKind.CONTACT:
        return None, None, None
    if contact_type not in ContactType.values():
        errors["contact_type"] = ["Choose whether the contact was direct or indirect"]
    if contact_method not in ContactMethod.values():
        errors["contact_method"] = ["Choose how the contact was made"]
    return contact_type, contact_method, _when(contact_at, errors)


def add_case_note(uow, user_id: int, case_code: str, *, kind: str, text, contact_type: str | None = None,
                  contact_method: str | None = None, contact_at=None, confidential: bool = False) -> NoteLine:
    """Add a contact or a note to the case file, with the R33 header of this moment.
    Written by those who work on the case (``access.may_write_notes``); a confidential one
    only by those who may read that section. A direct contact moves the tracking field
    "last contact" (R34) forward. Audited. Commits."""
    session = uow.session
    user = get_user(session, user_id)
    case = load_case(session, case_code)
    supervised = supervisee_ids(session, user.id)
    works_on = session.scalar(select(HumanTask.id).where(
        HumanTask.case_code == case.code, HumanTask.state == TaskState.READY, HumanTask.assignee_id == user.id,
        or_(HumanTask.role.is_(None), HumanTask.role != "committee_member")).limit(1)) is not None
    if not access.may_write_notes(user, case, supervised, works_on_open_task=works_on):
        raise Forbidden(N_("only those who work on case %(code)s add notes to its file") % {"code": case.code})
    if confidential is True and not access.may_see_confidential(user, case, supervised):
        raise Forbidden("only the caseworker, the supervisors and the director write in the strictly "
                        "confidential section")
    if confidential is True:
        record_locks.refuse_confidential_note(session)  # R50: locked during the emergency (409)
    errors: dict[str, list[str]] = {}
    if kind not in WRITABLE_KINDS:
        errors["kind"] = ["Choose whether this is a contact or a note"]
    if not isinstance(confidential, bool):
        errors["confidential"] = ["Say whether the note is strictly confidential"]
    written = _text(text, errors)
    contact = _contact(kind, contact_type, contact_method, contact_at, errors)
    if errors:
        raise Invalid("the note was not added: " + "; ".join(m for ms in errors.values() for m in ms).lower(),
                      errors=errors)
    now = clock.now()
    note = CaseNote(case_id=case.id, author_id=user.id, kind=kind, contact_type=contact[0],
                    contact_method=contact[1], contact_at=contact[2], text=written, confidential=confidential,
                    case_status=case.status, caseworker_id=case.caseworker_id, supervisor_id=case.supervisor_id,
                    at=now)
    session.add(note)
    case.updated_at = now
    if contact[0] == ContactType.DIRECT and contact[2] is not None and (
            case.date_last_contact is None or contact[2] > clock.as_utc(case.date_last_contact)):
        case.date_last_contact = contact[2]
    uow.flush()
    uow.audit(user.id, "case_note_added", "case", case.id, case.code, note_id=note.id, kind=kind,
              contact_type=contact[0], confidential=confidential)
    (line,) = note_lines(session, case.code, [note])
    uow.commit()
    return line
