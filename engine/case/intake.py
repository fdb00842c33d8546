"""A referral comes in (DOMAIN §2 step 1): the client's identity is kept apart from the
new pseudonymous case (R05) and the case-management process starts."""
from __future__ import annotations

import datetime as dt

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.case import processes as case_processes
from engine.case.records import load_case, new_case_code, record_event
from engine.errors import Forbidden, Invalid
from engine.models import Case, CaseClientLink, CaseStage, CaseStatus, Client
from engine.people import access
from engine.people.directory import get_user
from engine.service_ops import idempotency

SOURCE_MAX, CONCERN_MAX, NAME_MAX = 60, 4000, 300
REFERRAL_OPERATION = "create_referral"  # the idempotency keys' namespace for referrals

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
    actor = get_user(session, actor_id)
    if not access.may_refer(actor):
        raise Forbidden("only caseworkers, supervisors and the director take referrals")
    referral, client = referral or {}, client or {}
    request = idempotency.keyed(actor.id, REFERRAL_OPERATION, idempotency_key, {"referral": referral,
                                                                                "client": client})
    errors: dict[str, list[str]] = {}
    source = _text(referral.get("source"), "referral.source", errors, SOURCE_MAX, True)
    concern = _text(referral.get("primary_concern"), "referral.primary_concern", errors, CONCERN_MAX, True)
    referred_by = _text(referral.get("referred_by"), "referral.referred_by", errors, 200, False)
    name = _text(client.get("name"), "client.name", errors, NAME_MAX, True)
    sex = _text(client.get("sex"), "client.sex", errors, 20, False)
    born = _birth_date(client.get("date_of_birth"), errors)
    if errors:
        raise Invalid("the referral has errors", errors=errors)
    answered = idempotency.reserve(uow, request)
    if answered is not None:
        case = load_case(session, answered["case_code"])
        uow.commit()
        return case
    now = clock.now()
    person = Client(name=name, date_of_birth=born, sex=sex, created_at=now)
    case = Case(code=new_case_code(session), status=CaseStatus.OPEN, stage=CaseStage.SCREENING, primary_concern=concern,
                referral_source=source, referred_by=referred_by, date_identified=now, created_at=now,
                updated_at=now)
    session.add_all([person, case])
    session.flush()
    session.add(CaseClientLink(case_id=case.id, client_id=person.id))
    record_event(uow, case, actor.id, "referral", f"referral received from {source}", form="referral",
                 source=source)
    case_processes.start_case_process(uow, runtime, case_processes.MAIN_PROCESS, case, actor.id, {"reopened": False})
    idempotency.remember(uow, request, 201, {"case_code": case.code, "status": case.status,
                                             "process_instance_id": case.main_instance_id})
    uow.commit()
    return case
