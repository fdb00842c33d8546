"""Cases as people use them: take a referral, list my cases, open a case file.

Lists carry case codes and staff usernames, never a client's name (R32). A case file
shows the name only to those who need it (``access.may_see_client_name``) and every
opening of it is audited.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select

from engine import clock
from engine.people import access
from engine.errors import Forbidden, Invalid
from engine.models import Case, CaseClientLink, Client, HumanTask
from engine.models.case_decisions import Conference
from engine.bpmn.runtime import ProcessRuntime
from engine.case import processes as case_processes
from engine.case.files import CaseFile, load_case_file
from engine.case.records import load_case, new_case_code, record_event, usernames
from engine.people.accounts import get_user, supervisee_ids

MAX_PAGE = 500
SOURCE_MAX, CONCERN_MAX, NAME_MAX = 60, 4000, 300

__all__ = ["CaseFile", "CaseRow", "create_referral", "list_cases", "get_case_file", "form_context"]


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


def create_referral(uow, runtime: ProcessRuntime, actor_id: int, referral: dict, client: dict) -> Case:
    """A referral (DOMAIN §2 step 1): the client's identity goes to ``clients``, tied to a
    new pseudonymous case code only through the link table (R05); the case-management
    process starts with the case code and flags only. Does not commit."""
    session = uow.session
    actor = get_user(session, actor_id)
    if not access.may_refer(actor):
        raise Forbidden("only caseworkers, supervisors and the director take referrals")
    referral, client = referral or {}, client or {}
    errors: dict[str, list[str]] = {}
    source = _text(referral.get("source"), "referral.source", errors, SOURCE_MAX, True)
    concern = _text(referral.get("primary_concern"), "referral.primary_concern", errors, CONCERN_MAX, True)
    referred_by = _text(referral.get("referred_by"), "referral.referred_by", errors, 200, False)
    name = _text(client.get("name"), "client.name", errors, NAME_MAX, True)
    sex = _text(client.get("sex"), "client.sex", errors, 20, False)
    born = _birth_date(client.get("date_of_birth"), errors)
    if errors:
        raise Invalid("the referral has errors", errors=errors)
    now = clock.now()
    person = Client(name=name, date_of_birth=born, sex=sex, created_at=now)
    case = Case(code=new_case_code(session), status="O", stage="screening", primary_concern=concern,
                referral_source=source, referred_by=referred_by, date_identified=now, created_at=now,
                updated_at=now)
    session.add_all([person, case])
    session.flush()
    session.add(CaseClientLink(case_id=case.id, client_id=person.id))
    record_event(uow, case, actor.id, "referral", f"referral received from {source}", form="referral",
                 source=source)
    case_processes.start_case_process(uow, runtime, case_processes.MAIN_PROCESS, case, actor.id, {"reopened": False})
    return case


# -- lists -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseRow:
    """One line of a case list: the code and the work on it, no name (R32)."""
    code: str
    status: str
    stage: str
    risk_level: str | None
    in_crisis: bool
    caseworker: str | None
    supervisor: str | None
    date_identified: dt.datetime | None
    date_next_contact: dt.datetime | None
    date_next_review: dt.datetime | None
    updated_at: dt.datetime


def _visible(user, supervised: set[int]):
    """SQL condition: the cases ``user`` may see (the same rules as access.may_view_case)."""
    if user.has_role("director", "admin"):
        return None
    roles = sorted(user.roles) or ["-"]
    open_task = exists().where(HumanTask.case_code == Case.code, HumanTask.state == "ready",
                               or_(HumanTask.assignee_id == user.id,
                                   and_(HumanTask.assignee_id.is_(None), HumanTask.role.in_(roles))))
    conditions = [Case.caseworker_id == user.id, Case.supervisor_id == user.id, open_task,
                  and_(Case.intake_worker_id == user.id, Case.caseworker_id.is_(None))]
    if supervised:
        conditions.append(Case.caseworker_id.in_(supervised))
    if "committee_member" in user.roles:
        conditions.append(exists().where(Conference.case_id == Case.id, Conference.outcome.is_(None)))
    return or_(*conditions)


def list_cases(session, user_id: int, status: str | None = None, stage: str | None = None,
               risk_level: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[CaseRow], int]:
    """The cases this user may see, most recently changed first, and their total."""
    user = get_user(session, user_id)
    query = select(Case)
    condition = _visible(user, supervisee_ids(session, user.id))
    if condition is not None:
        query = query.where(condition)
    for column, value in ((Case.status, status), (Case.stage, stage), (Case.risk_level, risk_level)):
        if value:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Case.updated_at.desc(), Case.id.desc())
                                .limit(max(1, min(limit, MAX_PAGE))).offset(max(offset, 0))))
    names = usernames(session, [r.caseworker_id for r in rows] + [r.supervisor_id for r in rows])
    return [CaseRow(r.code, r.status, r.stage, r.risk_level, r.in_crisis, names.get(r.caseworker_id),
                    names.get(r.supervisor_id), r.date_identified, r.date_next_contact, r.date_next_review,
                    r.updated_at) for r in rows], total


# -- one case ------------------------------------------------------------------------------------
def get_case_file(uow, user_id: int, case_code: str) -> CaseFile:
    """The case file, if this user needs to know it (R32); the client only for those who
    may see the name. Audited, with whether the name was shown."""
    session = uow.session
    user = get_user(session, user_id)
    case = load_case(session, case_code)
    supervised = supervisee_ids(session, user.id)
    open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_code == case.code,
                                                              HumanTask.state == "ready")))
    holds = any(t.assignee_id == user.id or (t.assignee_id is None and access.offered_to(user, t))
                for t in open_tasks)
    works_on = any(t.assignee_id == user.id and t.role != "committee_member" for t in open_tasks)
    before_committee = session.scalar(select(Conference.id).where(Conference.case_id == case.id,
                                                                  Conference.outcome.is_(None)).limit(1)) is not None
    if not access.may_view_case(user, case, supervised, holds_task=holds, before_committee=before_committee):
        raise Forbidden(f"case {case.code} is not yours to see (need-to-know)")
    name_shown = access.may_see_client_name(user, case, supervised, works_on_open_task=works_on)
    client = None
    if name_shown:
        client = session.scalar(select(Client).join(CaseClientLink, CaseClientLink.client_id == Client.id)
                                .where(CaseClientLink.case_id == case.id))
    uow.audit(user.id, "case_file_viewed", "case", case.id, case.code, name_shown=name_shown)
    return load_case_file(session, case, client, open_tasks)


def form_context(session, case_code: str) -> dict:
    """The R33 header every form and note of the case carries, for display beside a form:
    date, case code, status, caseworker, supervisor (read-only fields of every case form)."""
    case = load_case(session, case_code)
    names = usernames(session, [case.caseworker_id, case.supervisor_id])
    return {"form_date": clock.now().date().isoformat(), "case_code": case.code, "case_status": case.status,
            "caseworker": names.get(case.caseworker_id), "supervisor": names.get(case.supervisor_id)}
