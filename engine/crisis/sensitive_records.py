"""The most sensitive records on an evacuation (R50, 001 §2.5.2): "data protection and
sharing protocols should prescribe how to handle data in case of evacuation, such as moving
or destroying the most sensitive documents".

For the kinds of disruption ``bcp_parameters.secure_records_needed`` names, the BCP
workflow asks the crisis team what was done with each kind of sensitive record. What the
case files hold is read here, not taken from the form: every kind that exists must be
accounted for (moved, destroyed or locked), a move says where to, and the answer goes into
the disruption log and the audit trail. The office's paper files are the crisis team's to
list; the system cannot see them.

"Access locked" for a kind the system holds (the confidential section, the confidential
notes, the name-code list) is done by the system too: from this step on it is locked
(``record_locks``: what each lock hides and what it leaves, and why) until a director lifts
it after the crisis. A drill locks nothing; paper files are the crisis team's to lock.
"""
from __future__ import annotations

from sqlalchemy import func, select

from engine.case import record_locks
from engine.crisis.declaration import add_system_entry
from engine.errors import Invalid
from engine.models import Case, CaseClientLink, CaseNote
from engine.models.crisis import Crisis
from engine.people.directory import usernames
from engine.service_ops.translations import N_

RECORD_KINDS = {
    "confidential_section": N_("the strictly confidential section of the case files"),
    "confidential_notes": N_("the case notes kept in the strictly confidential section"),
    "name_code_list": N_("the list linking case codes to names"),
    "paper_files": N_("the separate paper files of highly sensitive cases"),
}
ACTIONS = {"moved": "moved", "destroyed": "destroyed", "access_locked": "access locked"}
WHERE_MAX = 500


def held(session) -> dict[str, int]:
    """How many of each kind of sensitive record the case files hold (cases, notes, links)."""
    return {
        "confidential_section": session.scalar(select(func.count()).select_from(Case).where(
            Case.confidential_notes != "")) or 0,
        "confidential_notes": session.scalar(select(func.count()).select_from(CaseNote).where(
            CaseNote.confidential.is_(True))) or 0,
        "name_code_list": session.scalar(select(func.count()).select_from(CaseClientLink)) or 0,
    }


def _lines(records) -> tuple[list[dict], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(records, list) or not records:
        return [], {"records": ["say what was done with each kind of sensitive record"]}
    lines = []
    for index, line in enumerate(records):
        if not isinstance(line, dict) or line.get("record") not in RECORD_KINDS or line.get("action") not in ACTIONS:
            errors[f"records.{index}"] = ["a kind of record and what was done with it"]
            continue
        where = line.get("where")
        where = where.strip() if isinstance(where, str) else ""
        if line["action"] == "moved" and not where:
            errors[f"records.{index}.where"] = ["say where the records were moved to"]
        lines.append({"record": line["record"], "action": line["action"], "where": where[:WHERE_MAX]})
    return lines, errors


def record_secured(uow, crisis: Crisis, actor_id: int | None, records, protocol_followed) -> dict:
    """What the crisis team did with the most sensitive records, checked against what the
    case files hold, into the disruption log (an action) and the audit trail."""
    lines, errors = _lines(records)
    holding = held(uow.session)
    answered = {line["record"] for line in lines}
    missing = [kind for kind, count in holding.items() if count and kind not in answered]
    if missing and "records" not in errors:
        errors["records"] = ["the case files hold " + ", ".join(RECORD_KINDS[k] for k in missing)
                             + ": say what was done with them"]
    if protocol_followed is not True:
        errors["protocol_followed"] = ["the records are handled as the data-protection protocol says"]
    if errors:
        raise Invalid("the most sensitive records are not all accounted for", errors=errors)
    parts = []
    for line in lines:
        count = holding.get(line["record"])
        what = RECORD_KINDS[line["record"]] + (f" ({count})" if count is not None else "")
        parts.append(f"{what}: {ACTIONS[line['action']]}" + (f" ({line['where']})" if line["where"] else ""))
    to_lock = [line["record"] for line in lines
               if line["action"] == "access_locked" and line["record"] in record_locks.LOCKABLE]
    locked = [] if crisis.drill else record_locks.lock(uow, crisis.id, actor_id, to_lock)
    if to_lock:
        parts.append("Drill: nothing locked in the system" if crisis.drill else
                      "locked in the system until a director unlocks them")
    add_system_entry(uow.session, crisis.id, "action",
                     "Most sensitive records secured as the data-protection protocol says: " + "; ".join(parts) + ".",
                     author_id=actor_id)
    uow.audit(actor_id, "sensitive_records_secured", "crisis", crisis.id, records=lines, held=holding)
    return {"secured": lines, "held": holding, "locked": locked}


def locks(session) -> list[dict]:
    """The kinds the system keeps locked now (``record_locks``), in words, who locked each."""
    rows = record_locks.held_rows(session)
    names = usernames(session, [r.locked_by for r in rows])
    return [{"record": r.kind, "label": RECORD_KINDS[r.kind], "crisis_id": r.crisis_id, "locked_at": r.locked_at,
             "locked_by": names.get(r.locked_by or 0)} for r in rows]
