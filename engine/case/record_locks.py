"""The system's own lock on the most sensitive records it holds (R50, 001 §2.5.2): when the
BCP's record step says a kind's access was locked, the system locks it from then on, until a
director lifts the lock after the crisis. Each lock is a ``sensitive_record_locks`` row,
audited when set and when lifted.

What a lock means, kind by kind:

- ``confidential_section`` (``Case.confidential_notes``) and ``confidential_notes``
  (confidential ``CaseNote`` rows): the page shows them as one section, so either kind
  locked locks the section: no one sees it in the case file (page or API), its usual
  readers (caseworker, supervisors, director) included, and no confidential note can be
  written (409; an ordinary note still can). The page says the section is locked during
  the emergency and that a director can unlock it after the crisis.
- ``name_code_list`` (``CaseClientLink`` → the client's name): no one is shown the name,
  birth date or sex behind a case code, in the case file, the shadowing view of a handover
  (R29), or the referral's likely-duplicate warning (which still says a matching open case
  exists, without its code, so the referrer can record a new case and link them later).
  Left as they are, because they show no name to anyone: the crisis messages to clients
  (``client_contact``: the system reads a consented e-mail address or phone number and
  sends the template, which carries no name, and the crisis team still needs to reach the
  clients of affected cases); the screening of a released file (``file_release``: other
  clients' names are looked up only to black them out — locking must not weaken it); the
  aged-out check (a birth date, never shown).
- ``paper_files``: physical; recorded only.

A drill locks nothing (a drill changes no live record): its log entry says what would have
been locked.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine import clock
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models.crisis import Crisis, SensitiveRecordLock
from engine.people.directory import get_user
from engine.service_ops.translations import N_

LOCKABLE = ("confidential_section", "confidential_notes", "name_code_list")
UNLOCK_ROLES = ("director",)
CONFIDENTIAL_LOCKED = N_("The strictly confidential section is locked during the emergency. "
                         "A director can unlock it after the crisis.")
NAMES_LOCKED = N_("The names behind case codes are locked during the emergency. "
                  "A director can unlock them after the crisis.")
NOTE_REFUSED = N_("the strictly confidential section is locked during the emergency: no confidential note can be "
                  "written until a director unlocks it after the crisis")
FILE_REQUEST_REFUSED = N_("the strictly confidential section is locked during the emergency: a request to see a case "
                          "file can be recorded once a director unlocks it after the crisis")


@dataclass(frozen=True)
class Locks:
    """The kinds locked now, as the reading code asks about them."""
    kinds: frozenset[str]

    @property
    def confidential(self) -> bool:
        return bool(self.kinds & {"confidential_section", "confidential_notes"})

    @property
    def names(self) -> bool:
        return "name_code_list" in self.kinds

    def words(self) -> list[str]:
        """What a reader of a case file is told is locked."""
        said = [CONFIDENTIAL_LOCKED] if self.confidential else []
        return said + ([NAMES_LOCKED] if self.names else [])


def current(session) -> Locks:
    return Locks(frozenset(session.scalars(select(SensitiveRecordLock.held_kind)
                                           .where(SensitiveRecordLock.held_kind.is_not(None)))))


def held_rows(session) -> list[SensitiveRecordLock]:
    return list(session.scalars(select(SensitiveRecordLock).where(SensitiveRecordLock.held_kind.is_not(None))
                                .order_by(SensitiveRecordLock.id)))


def refuse_confidential_note(session) -> None:
    if current(session).confidential:
        raise Conflict(NOTE_REFUSED)


def refuse_file_request(session) -> None:
    """A client's request to see their file (R51) waits while the section its screening must
    read is locked (R50): a 409 saying so (``locked`` names the section)."""
    if current(session).confidential:
        raise Conflict(FILE_REQUEST_REFUSED, locked="confidential_section")


def lock(uow, crisis_id: int, actor_id: int | None, kinds: list[str]) -> list[str]:
    """Lock ``kinds`` (those the system holds) for crisis ``crisis_id``; a kind already
    locked stays under its lock. Audited. Returns the kinds newly locked."""
    already = current(uow.session).kinds
    new = [k for k in dict.fromkeys(kinds) if k in LOCKABLE and k not in already]
    for kind in new:
        uow.session.add(SensitiveRecordLock(kind=kind, held_kind=kind, crisis_id=crisis_id, locked_by=actor_id,
                                            locked_at=clock.now()))
    if new:
        uow.session.flush()
        uow.audit(actor_id, "sensitive_records_locked", "crisis", crisis_id, records=new)
    return new


def unlock(uow, user_id: int, crisis_id: int, kinds=None) -> dict:
    """A director lifts the locks crisis ``crisis_id`` set (all, or ``kinds``): 403 for
    anyone else, 409 when none of them is locked. Audited. Commits."""
    user = get_user(uow.session, user_id)
    if not user.has_role(*UNLOCK_ROLES):
        raise Forbidden("only a director unlocks the sensitive records locked during the emergency")
    if uow.session.get(Crisis, crisis_id) is None:
        raise NotFound(N_("no crisis %(id)s") % {"id": crisis_id})
    if kinds is not None and (not isinstance(kinds, list) or any(k not in LOCKABLE for k in kinds)):
        raise Invalid("say which kinds of record to unlock", errors={"records": list(LOCKABLE)})
    held = held_rows(uow.session)
    rows = [r for r in held if r.crisis_id == crisis_id and (kinds is None or r.kind in kinds)]
    if not rows:
        raise Conflict("nothing is locked for this crisis")
    now = clock.now()
    for row in rows:
        row.held_kind, row.unlocked_at, row.unlocked_by = None, now, user.id
    uow.session.flush()
    lifted = [r.kind for r in rows]
    uow.audit(user.id, "sensitive_records_unlocked", "crisis", crisis_id, records=lifted)
    uow.commit()
    return {"unlocked": lifted, "locked": sorted({r.kind for r in held if r not in rows})}
