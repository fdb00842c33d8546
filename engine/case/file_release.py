"""A client sees their own case file, screened first (R51, 001 §2.5.2): "Individuals are
entitled to see their case files as part of their meaningful participation ... Remember to
screen files before sharing to maintain the confidentiality of others mentioned in the files."

:func:`request_file_release` starts the ``case_file_release`` process for a case: its
caseworker records the request, a supervisor screens the file and releases or refuses it.
:func:`screened_copy` is what a released file contains. It is built from the case file as
the records hold it, never from task data, and leaves out:

- the strictly confidential section (the case's confidential notes and the confidential
  notes among its case notes), always;
- the case notes the supervisor leaves out (by the date they were written or took place);
- other people's names: those the supervisor lists, and the name of any other client of
  the service found in the texts. Each is replaced by ``[withheld]``.

The copy names the case by its code, not the client: it is kept in the case's timeline,
which people who may not see the name read too.
"""
from __future__ import annotations

import re

from sqlalchemy import String, func, literal, select

from engine.bpmn.runtime import ProcessRuntime
from engine.case import processes as case_processes
from engine.case import record_locks
from engine.case.files import load_case_file
from engine.case.records import load_case
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import CaseClientLink, Client, ProcessInstance
from engine.people import access
from engine.people.directory import get_user, supervisee_ids

FILE_RELEASE_PROCESS = "case_file_release"
REQUESTERS = ("client", "caregiver")
WITHHELD = "[withheld]"
SHORTEST_NAME = 3  # shorter "names" would black out ordinary words
TRACKING_DATES = ("date_identified", "date_intake", "date_registered", "date_initial_assessment",
                  "date_comprehensive_started", "date_comprehensive_completed", "date_plan_approved",
                  "date_last_contact", "date_next_contact", "date_last_review", "date_next_review", "date_closed",
                  "date_transferred")


def may_handle(user, case, supervised: set[int]) -> bool:
    """Who records a client's request and screens their file: those who may read the
    strictly confidential section (the caseworker, the supervisors, the director), since
    screening means reading all of it."""
    return access.may_see_confidential(user, case, supervised)


def request_file_release(uow, runtime: ProcessRuntime, actor_id: int, case_code: str,
                         requested_by: str) -> ProcessInstance:
    """The client (or their caregiver) asks to see the case file: start its release. One
    request at a time per case, and none while the crisis team has the strictly confidential
    section locked (R50: screening the file means reading it). Commits."""
    session = uow.session
    user = get_user(session, actor_id)
    case = load_case(session, case_code)
    if not may_handle(user, case, supervisee_ids(session, user.id)):
        raise Forbidden(f"only the caseworker, a supervisor or the director of case {case.code} records a request "
                        "to see its file")
    record_locks.refuse_file_request(session)  # R50: its screening reads the locked section
    if requested_by not in REQUESTERS:
        raise Invalid("say who asks to see the file", errors={"requested_by": list(REQUESTERS)})
    if case_processes.running_instances(session, case.code, [FILE_RELEASE_PROCESS]):
        raise Conflict(f"a request to see the file of case {case.code} is already being handled")
    instance = case_processes.start_case_process(uow, runtime, FILE_RELEASE_PROCESS, case, user.id,
                                                 {"requested_by": requested_by})
    uow.commit()
    return instance


def _other_clients_named(session, case_id: int, texts: list[str]) -> list[str]:
    """Names of the service's other clients that appear in ``texts`` (case-insensitively)."""
    blob = "\n".join(texts).lower()
    if not blob.strip():
        return []
    own = select(CaseClientLink.client_id).where(CaseClientLink.case_id == case_id)
    found = session.scalars(select(Client.name).where(
        Client.id.not_in(own), func.length(Client.name) >= SHORTEST_NAME,
        literal(blob, String).like(literal("%", String) + func.lower(Client.name) + literal("%", String)))).all()
    return sorted(set(found))


def _screen(names: list[str]):
    patterns = [re.compile(re.escape(n), re.IGNORECASE) for n in sorted(names, key=len, reverse=True)]

    def screen(text: str | None) -> str:
        text = text or ""
        for pattern in patterns:
            text = pattern.sub(WITHHELD, text)
        return text
    return screen


def screened_copy(session, case, withheld_names: list[str], withheld_note_dates: list[str]) -> dict:
    """The case file as the client may see it (see the module docstring)."""
    record = load_case_file(session, case, None, [], confidential=False)
    left_out = set(withheld_note_dates)

    def written_on(note) -> set[str]:
        return {d.date().isoformat() for d in (note.at, note.contact_at) if d is not None}

    notes = [n for n in record.notes if not n.confidential and not (written_on(n) & left_out)]
    texts = ([n.text for n in notes] + [e.summary for e in record.timeline]
             + [f"{r.provider} {r.service}" for r in record.referrals])
    names = [n.strip() for n in withheld_names if len(n.strip()) >= SHORTEST_NAME]
    names += _other_clients_named(session, case.id, texts)
    screen = _screen(names)
    return {
        "case_code": case.code,
        "case_status": case.status,
        "dates": {name: getattr(case, name).isoformat() for name in TRACKING_DATES if getattr(case, name)},
        "history": [{"at": e.at.isoformat(), "summary": screen(e.summary)} for e in record.timeline],
        "notes": [{"at": (n.contact_at or n.at).isoformat(), "kind": n.kind, "text": screen(n.text)} for n in notes],
        "referrals": [{"provider": screen(r.provider), "service": screen(r.service), "status": r.status}
                      for r in record.referrals],
        "notes_left_out": len(record.notes) - len(notes),
        "names_withheld": len(set(n.lower() for n in names)),
    }
