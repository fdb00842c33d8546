"""A referral comes in (DOMAIN §2 step 1): the client's identity is kept apart from the
new pseudonymous case (R05) and the case-management process starts.

The referral page also looks for a likely duplicate first (issue 13): an open case whose
client has the same name and birth date, both normalised (:func:`name_key`). The referrer
then records a new case anyway or adds the referral to that case — told the matching
case's code only when they may see that case (R32). A page form carries a one-time token,
kept with its answer as an idempotency key, so that sending the form again (back, then
submit) never makes a second case.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.case import files, record_locks
from engine.case import processes as case_processes
from engine.case.records import load_case, new_case_code, record_event
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Case, CaseClientLink, CaseNote, CaseStage, CaseStatus, Client, User
from engine.models.case import ACTIVE_STATUSES, NoteKind, ReferralSource
from engine.people import access
from engine.people.directory import get_user, supervisor_of
from engine.service_ops import idempotency, notifications
from engine.service_ops.translations import N_, words

SOURCE_MAX, CONCERN_MAX, NAME_MAX = 60, 4000, 300
REFERRAL_OPERATION = "create_referral"  # the idempotency keys' namespace for referrals
FORM_OPERATION = "referral_form"  # the namespace of the referral page's one-time form tokens
NAME_KEY_MAX = 300  # clients.name_key
MAX_MATCHES = 20  # likely duplicates looked at for one referral


def name_key(name: str) -> str:
    """A name as compared for likely duplicates: case-folded, accents dropped, whitespace
    removed ("José  de la Cruz" and "jose delacruz" meet). Migration 0015 keeps a copy of
    this rule for the clients recorded before it."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and not ch.isspace())
    return unicodedata.normalize("NFKC", bare)[:NAME_KEY_MAX]


# -- a referral ------------------------------------------------------------------------------
def _text(value, field: str, errors: dict, max_length: int, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.setdefault(field, []).append("is required")
        return None
    if not isinstance(value, str):
        errors.setdefault(field, []).append("must be text")
        return None
    if len(value.strip()) > max_length:
        errors.setdefault(field, []).append(f"is longer than {max_length} characters")
    return value.strip()


def _birth_date(value, errors: dict) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        born = value
    else:
        try:
            born = dt.date.fromisoformat(str(value))
        except ValueError:
            errors.setdefault("client.date_of_birth", []).append("must be a date (YYYY-MM-DD)")
            return None
    if born > clock.now().date():
        errors.setdefault("client.date_of_birth", []).append("is in the future")
    return born


@dataclass(frozen=True)
class ReferralFields:
    source: str
    concern: str
    referred_by: str | None
    name: str
    sex: str | None
    born: dt.date | None


def _checked(referral: dict, client: dict) -> ReferralFields:
    errors: dict[str, list[str]] = {}
    source = _text(referral.get("source"), "referral.source", errors, SOURCE_MAX, True)
    concern = _text(referral.get("primary_concern"), "referral.primary_concern", errors, CONCERN_MAX, True)
    referred_by = _text(referral.get("referred_by"), "referral.referred_by", errors, 200, False)
    name = _text(client.get("name"), "client.name", errors, NAME_MAX, True)
    sex = _text(client.get("sex"), "client.sex", errors, 20, False)
    born = _birth_date(client.get("date_of_birth"), errors)
    if errors:
        raise Invalid("the referral has errors", errors=errors)
    return ReferralFields(source or "", concern or "", referred_by, name or "", sex, born)


def _referrer(session, actor_id: int) -> User:
    actor = get_user(session, actor_id)
    if not access.may_refer(actor):
        raise Forbidden("only caseworkers, supervisors and the director take referrals")
    return actor


def create_referral(uow, runtime: ProcessRuntime, actor_id: int, referral: dict, client: dict,
                    idempotency_key: str | None = None) -> Case:
    """A referral (DOMAIN §2 step 1): the client's identity goes to ``clients``, tied to a
    new pseudonymous case code only through the link table (R05); the case-management
    process starts with the case code and flags only. Commits.

    With an ``idempotency_key`` the same referral sent again by the same person within
    24 h (a retry after a lost answer, a double click) gives the first case back and
    creates nothing, also when the two arrive at the same moment; the key and the case
    commit together. The same key with a different referral is refused (422)."""
    session = uow.session
    actor = _referrer(session, actor_id)
    referral, client = referral or {}, client or {}
    request = idempotency.keyed(actor.id, REFERRAL_OPERATION, idempotency_key, {"referral": referral,
                                                                                "client": client})
    fields = _checked(referral, client)
    answered = idempotency.reserve(uow, request)
    if answered is not None:
        case = load_case(session, answered["case_code"])
        uow.commit()
        return case
    case = _new_case(uow, runtime, actor, fields)
    idempotency.remember(uow, request, 201, {"case_code": case.code, "status": case.status,
                                             "process_instance_id": case.main_instance_id})
    uow.commit()
    return case


def _new_case(uow, runtime: ProcessRuntime, actor: User, fields: ReferralFields) -> Case:
    session = uow.session
    now = clock.now()
    person = Client(name=fields.name, name_key=name_key(fields.name), date_of_birth=fields.born, sex=fields.sex,
                    created_at=now)
    case = Case(code=new_case_code(session), status=CaseStatus.OPEN, stage=CaseStage.SCREENING,
                primary_concern=fields.concern, referral_source=fields.source, referred_by=fields.referred_by,
                date_identified=now, created_at=now, updated_at=now)
    session.add_all([person, case])
    session.flush()
    session.add(CaseClientLink(case_id=case.id, client_id=person.id))
    record_event(uow, case, actor.id, "referral", f"referral received from {ReferralSource.label_of(fields.source)}",
                 form="referral", source=fields.source)
    case_processes.start_case_process(uow, runtime, case_processes.MAIN_PROCESS, case, actor.id, {"reopened": False})
    return case


# -- likely duplicates and the referral page ----------------------------------------------------
@dataclass(frozen=True)
class LikelyDuplicate:
    """An open case whose client has the same normalised name and birth date.
    ``case_code`` is None when the person asking may not see that case (R32)."""
    case_code: str | None


def _matching_cases(session, fields: ReferralFields) -> list[Case]:
    if fields.born is None or not fields.name:
        return []
    return list(session.scalars(
        select(Case).join(CaseClientLink, CaseClientLink.case_id == Case.id)
        .join(Client, Client.id == CaseClientLink.client_id)
        .where(Client.name_key == name_key(fields.name), Client.date_of_birth == fields.born,
               Case.status.in_(ACTIVE_STATUSES)).order_by(Case.id).limit(MAX_MATCHES)))


def _as_seen_by(session, user: User, cases: list[Case]) -> list[LikelyDuplicate]:
    """While the name-code list is locked (R50, ``record_locks``) a match names no case: a
    name would lead to its code."""
    if record_locks.current(session).names:
        return [LikelyDuplicate(None) for _ in cases]
    return [LikelyDuplicate(c.code if files.reader_of(session, user, c).may_view(c) else None) for c in cases]


@dataclass(frozen=True)
class FormOutcome:
    """What became of one sending of the referral page's form. With ``duplicates`` nothing
    was recorded yet: the referrer chooses. Else ``case_code`` holds the referral: a new
    case, or (``linked``) the matching case it was added to; ``repeated``: the form had
    been sent before, and this sending changed nothing."""
    case_code: str | None = None
    repeated: bool = False
    linked: bool = False
    duplicates: tuple[LikelyDuplicate, ...] = ()


NEW_CASE, LINK = "new", "link"  # the referrer's choices once warned


def submit_referral_form(uow, runtime: ProcessRuntime, actor_id: int, referral: dict, client: dict,
                         form_token: str | None, choice: str | None = None,
                         link_to: str | None = None) -> FormOutcome:
    """The referral page's form. Without a ``choice``, an open case matching the person
    (:func:`name_key` and birth date) stops it with the likely duplicates (audited);
    ``choice`` "new" records a new case all the same (noted on it, and the referrer's
    supervisor told), "link" adds the referral to the matching case ``link_to``, which the
    referrer must be able to see. The ``form_token`` makes any later sending of the same
    form give the first outcome again. Commits."""
    session = uow.session
    actor = _referrer(session, actor_id)
    request = None if not form_token else idempotency.keyed(actor.id, FORM_OPERATION, form_token,
                                                            {"form_token": form_token})
    if request is not None:
        answered = idempotency.recall(session, request)
        if answered is not None:
            uow.commit()
            return FormOutcome(answered["case_code"], repeated=True, linked=bool(answered.get("linked")))
    fields = _checked(referral or {}, client or {})
    if choice not in (None, NEW_CASE, LINK):
        raise Invalid("choose how to record the referral", errors={"choice": ["Choose a new case or the matching one"]})
    matches = _matching_cases(session, fields)
    if choice is None and matches:
        seen = _as_seen_by(session, actor, matches)
        uow.audit(actor.id, "referral_duplicate_warned", "case", matches[0].id, matches[0].code,
                  matches=[c.code for c in matches], shown=[d.case_code for d in seen if d.case_code])
        uow.commit()
        return FormOutcome(duplicates=tuple(seen))
    if choice == LINK:
        return _add_to_case(uow, actor, fields, link_to, matches, request)
    answered = idempotency.reserve(uow, request)
    if answered is not None:
        uow.commit()
        return FormOutcome(answered["case_code"], repeated=True, linked=bool(answered.get("linked")))
    case = _new_case(uow, runtime, actor, fields)
    if matches:
        _note_likely_duplicate(uow, actor, case, matches)
    idempotency.remember(uow, request, 201, {"case_code": case.code, "linked": False})
    uow.commit()
    return FormOutcome(case.code)


def _note_likely_duplicate(uow, actor: User, case: Case, matches: list[Case]) -> None:
    """Recorded as a new case although open cases match: said on the case (the codes kept
    in the record's detail, not shown), and the referrer's supervisor is asked to check."""
    session = uow.session
    record_event(uow, case, actor.id, "referral", "recorded as a new case although an open case matches the same "
                 "name and birth date: a supervisor checks whether it is the same person",
                 form="referral", likely_duplicate_of=[c.code for c in matches])
    supervisor_id = supervisor_of(session, actor.id)
    if supervisor_id is None:
        return
    supervisor = get_user(session, supervisor_id)
    seen = [d.case_code for d in _as_seen_by(session, supervisor, matches) if d.case_code]
    body = (words(N_("It matches open case %(codes)s by name and birth date. Check whether they are the same "
                     "person."), codes=", ".join(seen)) if seen else
            words(N_("It matches an open case you cannot see by name and birth date: ask the director. Check "
                     "whether they are the same person.")))
    notifications.notify(uow, [supervisor_id], "likely_duplicate",
                         words(N_("Referral %(code)s may duplicate an open case"), code=case.code),
                         body=body, case_code=case.code,
                         link=f"/cases/{case.code}", dedupe_key=f"likely_duplicate:{case.code}")


def _add_to_case(uow, actor: User, fields: ReferralFields, link_to: str | None, matches: list[Case],
                 request) -> FormOutcome:
    """The referral belongs to a case already open: kept on that case as a note (R33
    header), its caseworker and supervisor told."""
    session = uow.session
    case = next((c for c in matches if c.code == link_to), None)
    if case is None:
        raise Invalid("that case does not match this person", errors={"choice": [
            "Choose one of the matching cases shown, or record a new case"]})
    if not files.reader_of(session, actor, case).may_view(case):
        raise Forbidden("you may not see the matching case: ask your supervisor")
    if case.status not in ACTIVE_STATUSES:
        raise Conflict(N_("case %(code)s is no longer open") % {"code": case.code})
    answered = idempotency.reserve(uow, request)
    if answered is not None:
        uow.commit()
        return FormOutcome(answered["case_code"], repeated=True, linked=bool(answered.get("linked")))
    now = clock.now()
    text = "\n".join(line for line in (
        f"Another referral came in for this person, from {ReferralSource.label_of(fields.source)}"
        + (f" ({fields.referred_by})." if fields.referred_by else "."),
        f"Primary concern: {fields.concern}") if line)
    session.add(CaseNote(case_id=case.id, author_id=actor.id, kind=NoteKind.NOTE, text=text, confidential=False,
                         case_status=case.status, caseworker_id=case.caseworker_id, supervisor_id=case.supervisor_id,
                         at=now))
    record_event(uow, case, actor.id, "referral", "another referral received for this case", form="referral",
                 source=fields.source)
    told = [u for u in (case.caseworker_id, case.supervisor_id) if u != actor.id]
    notifications.notify(uow, told, "referral_added",
                         words(N_("Another referral for case %(code)s"), code=case.code),
                         body=words(N_("Read it in the case file's notes.")),
                         case_code=case.code, link=f"/cases/{case.code}")
    idempotency.remember(uow, request, 200, {"case_code": case.code, "linked": True})
    uow.commit()
    return FormOutcome(case.code, linked=True)
