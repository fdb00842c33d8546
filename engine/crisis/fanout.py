"""The fan-out of crisis checks over the live caseload (R37), through the task queue.

1. ``plan_checks`` (job ``crisis_plan_checks``, at the declaration and again after each
   change of scope): every open case in a stage an affected sub-function serves that has
   no check yet gets one ``crisis_case_checks`` row — unique per (crisis, case), so a case
   newly covered by a widened scope gets its check exactly once — ranked by the
   ``bcp_check_priority`` profiles the diagram computed (high-risk, in-crisis,
   pending/under-review first; after the checks planned before) and assigned to its
   caseworker or backup staff (``bcp_backup_staffing``). Follow-ups due or missed during the
   disruption are found and reassigned in the same transaction (R38). Each person given
   checks is told once, in one summary (``crisis_checks``); the check task's diagram says
   so (``announce`` ``summary``), so no check brings a notification or an e-mail of its
   own. Then one ``crisis_start_checks`` job per batch of rows, highest priority first.
2. ``start_check_batch`` (job ``crisis_start_checks``): claims its rows (planned ->
   started, in one UPDATE: a repeated message or a second worker finds nothing left to
   claim) and starts one short ``bcp_crisis_check`` instance per row, in the same
   transaction (``engine_step.start_many``: the batch's rows written together). A worker
   that dies mid-batch rolls the claim back with the instances, so the retried message
   starts exactly the missing ones.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, exists, func, select, update

from engine import clock
from engine.bpmn import engine_step
from engine.bpmn.runtime import ProcessRuntime
from engine.crisis import follow_ups as crisis_follow_ups
from engine.crisis import labels
from engine.crisis.availability import absent_in_drill
from engine.crisis.declaration import CHECK_PROCESS, add_system_entry, load_crisis, require_role, resumption_deadline
from engine.crisis.staffing import StaffPool, backup_for, backup_rules
from engine.errors import Conflict, Invalid
from engine.models import RISK_LEVELS, UNRATED, Case, CaseStatus, bulk_rows
from engine.models.crisis import Crisis, CrisisCaseCheck, CrisisStatus
from engine.people.directory import usernames
from engine.process.deployment import latest_model
from engine.service_ops import notifications

log = logging.getLogger(__name__)

# How many check instances one job starts in one transaction (the default; the task queue
# passes its CRISIS_CHECK_BATCH setting): big enough to amortise the job overhead, small
# enough that every worker takes a share of the fan-out and a retried batch repeats little.
# 100: each batch has a cost of its own (its job, its dozen statements, its turn at the audit
# chain's head); bench/crisis_fanout.py measured 10,000 checks 25 % faster than with 50, and
# no faster with 200.
CHECK_BATCH_SIZE = 100
_RISK_ORDER = {level: rank for rank, level in enumerate(RISK_LEVELS)}


def _profile_table(check_profiles: list[dict]) -> dict[tuple, tuple[int, int]]:
    table = {}
    for profile in check_profiles:
        key = (profile["risk_level"], bool(profile["in_crisis"]), bool(profile["pending_review"]))
        table[key] = (int(profile["check_order"]), int(profile["check_within_hours"]))
    return table


def plan_checks(uow, crisis_id: int, batch_size: int = CHECK_BATCH_SIZE) -> int:
    """Plan the crisis's checks once and enqueue the batches (of ``batch_size`` rows) still
    to start; returns the number of batches enqueued. Safe to run again: the crisis row is
    locked, planning happens once, and batches only carry rows not started yet. Commits."""
    if batch_size < 1:
        raise ValueError(f"a crisis check batch holds at least one check, not {batch_size}")
    session = uow.session
    crisis = load_crisis(session, crisis_id, for_update=True)
    if crisis.status == CrisisStatus.CLOSED:
        return 0
    params = json.loads(crisis.impact_parameters or "{}")
    if not params:
        raise Invalid(f"crisis {crisis.id} has no fan-out parameters: its BCP diagram has not reached "
                      "crisis.assess_client_impact")
    first = crisis.checks_planned_at is None
    pool = StaffPool(session, int(params["backup_caseload_cap"]), absent_in_drill(session, crisis))
    added = _insert_checks(session, crisis, params, pool)
    if first or added:
        until = resumption_deadline(crisis)
        crisis.affected_cases = session.scalar(select(func.count()).where(CrisisCaseCheck.crisis_id == crisis.id))
        crisis.checks_planned_at = crisis.checks_planned_at or clock.now()
        summary = crisis_follow_ups.find_and_reassign(uow, crisis, pool, until=until,
                                                      phase=f"resumption:{crisis.scope_version}")
        what = f"{labels.count(added, 'open case')} affected" if first else \
            f"{labels.count(added, 'more open case')} newly covered by the scope"
        add_system_entry(session, crisis.id, "action", f"{what}: a crisis check each, high-risk, in-crisis and "
                         f"pending/under-review cases first. Follow-ups due or missed during the disruption: "
                         f"{summary.describe()}.")
        uow.audit(None, "crisis_checks_planned", "crisis", crisis.id, cases=added, scope_version=crisis.scope_version,
                  follow_ups=summary.counts())
        assignees = session.scalars(select(CrisisCaseCheck.assignee_id).where(
            CrisisCaseCheck.crisis_id == crisis.id, CrisisCaseCheck.assignee_id.is_not(None),
            CrisisCaseCheck.state == "planned").distinct())
        drill = "Drill: " if crisis.drill else ""
        notifications.notify(uow, list(assignees), "crisis_checks",
                             f"{drill}Crisis checks for you (disruption #{crisis.id})",
                             body="Reach each client, confirm their safety and record how their care is affected. "
                                  "High-risk cases are due first; they are at the top of your inbox.", link="/",
                             dedupe_key=f"crisis_checks:{crisis.id}:{crisis.scope_version}")
    pending = list(session.scalars(select(CrisisCaseCheck.id).where(
        CrisisCaseCheck.crisis_id == crisis.id, CrisisCaseCheck.state == "planned").order_by(CrisisCaseCheck.rank)))
    batches = [pending[i:i + batch_size] for i in range(0, len(pending), batch_size)]
    for batch in batches:
        uow.enqueue("crisis_start_checks", crisis.id, batch)
    uow.commit()
    return len(batches)


def request_fan_out(uow, user_id: int, crisis_id: int) -> None:
    """A crisis-team member asks for the fan-out to run again (after a lost message, say):
    planning happens once, and only checks not started yet are sent again. Commits."""
    require_role(uow.session, user_id, ("crisis_team",), "restart the crisis-check fan-out")
    crisis = load_crisis(uow.session, crisis_id)
    if crisis.status == CrisisStatus.CLOSED:
        raise Conflict(f"crisis {crisis.id} is closed")
    uow.enqueue("crisis_plan_checks", crisis.id)
    uow.audit(user_id, "crisis_fan_out_requested", "crisis", crisis.id)
    uow.commit()


def _insert_checks(session, crisis: Crisis, params: dict, pool: StaffPool) -> int:
    profiles = _profile_table(params["check_profiles"])
    rules = backup_rules(params)
    pending_stages = set(params["pending_review_stages"])
    checked = exists().where(CrisisCaseCheck.crisis_id == crisis.id, CrisisCaseCheck.case_id == Case.id)
    cases = session.execute(select(Case.id, Case.code, Case.risk_level, Case.in_crisis, Case.stage,
                                   Case.caseworker_id, Case.supervisor_id, Case.date_next_contact, Case.urgent_since)
                            .where(Case.status == CaseStatus.OPEN, Case.stage.in_(params["stages"]), ~checked)).all()
    if not cases:
        return 0
    ranked = session.scalar(select(func.max(CrisisCaseCheck.rank)).where(CrisisCaseCheck.crisis_id == crisis.id)) or 0
    planned = []
    for case in cases:
        risk = case.risk_level if case.risk_level in _RISK_ORDER else UNRATED
        pending = case.stage in pending_stages
        order, hours = profiles.get((risk, bool(case.in_crisis), pending)) or profiles[(UNRATED, False, False)]
        planned.append((order, _RISK_ORDER.get(risk, 3), case.date_next_contact or dt.datetime.max.replace(
            tzinfo=dt.UTC), case.id, case, risk, pending, hours))
    planned.sort(key=lambda p: (p[4].urgent_since is None, *p[:4]))  # urgent cases first (R46)
    now = clock.now()
    rows = []
    for rank, (order, _, _, _, case, risk, pending, hours) in enumerate(planned, start=ranked + 1):
        who = pool.assign(case.caseworker_id, case.supervisor_id, backup_for(rules, "crisis_check", risk))
        rows.append({"crisis_id": crisis.id, "case_id": case.id, "case_code": case.code,
                     "risk_level": None if risk == UNRATED else risk, "in_crisis": bool(case.in_crisis),
                     "pending_review": pending, "check_order": order, "rank": rank, "check_within_hours": hours,
                     "assignee_id": who.user_id, "backup": who.backup, "state": "planned", "planned_at": now})
    # one statement on PostgreSQL however many (engine.models.bulk_rows); a case planned
    # meanwhile by another run keeps its row
    bulk_rows.insert_rows(session.connection(), _CHECKS, rows, skip_duplicates_of=("crisis_id", "case_id"))
    return len(rows)


def start_check_batch(uow, runtime: ProcessRuntime, crisis_id: int, check_ids: Iterable[int]) -> int:
    """Start the check instances of the rows of ``check_ids`` still planned; returns how
    many this call started (0 for a repeated message). Commits."""
    session = uow.session
    checks = sorted(session.execute(  # the claim returns what the starts need: no read of the rows after it
        update(_CHECKS).where(_CHECKS.c.id.in_(list(check_ids)), _CHECKS.c.crisis_id == crisis_id,
                              _CHECKS.c.state == "planned")
        .values(state="started", started_at=clock.now()).returning(*_CLAIMED)).all(), key=lambda c: c.rank)
    if not checks:
        return 0
    crisis = load_crisis(session, crisis_id)
    params = json.loads(crisis.impact_parameters or "{}")
    names = usernames(session, {c.assignee_id for c in checks})
    starts = [engine_step.Start(case_code=check.case_code, parent_instance_id=crisis.instance_id, data={
        "crisis_id": crisis.id, "case_code": check.case_code, "risk_level": check.risk_level,
        "in_crisis": check.in_crisis, "pending_review": check.pending_review, "check_order": check.check_order,
        "check_within_hours": check.check_within_hours, "check_assignee": names.get(check.assignee_id),
        "backup": check.backup, "reassess_within_hours": params.get("reassess_within_hours"),
        "drill": crisis.drill}) for check in checks]
    # the claim above holds SQLite's write lock, as start_many needs
    steps = engine_step.start_many(uow, runtime, latest_model(session, CHECK_PROCESS), starts)
    bulk_rows.update_rows(session.connection(), _CHECKS, "id", [  # one UPDATE (a statement a row on SQLite)
        {"id": check.id, "instance_id": step.instance.id} for check, step in zip(checks, steps, strict=True)])
    for check, step in zip(checks, steps, strict=True):
        uow.audit(None, "crisis_check_started", "process_instance", step.instance.id, check.case_code,
                  crisis_id=crisis.id, assignee_id=check.assignee_id, backup=check.backup)
    uow.commit()
    log.info("crisis %s: started %d check instances", crisis.id, len(steps))
    return len(steps)


_CHECKS = cast(Table, CrisisCaseCheck.__table__)
_CLAIMED = [_CHECKS.c[name] for name in ("id", "rank", "case_code", "risk_level", "in_crisis", "pending_review",
                                          "check_order", "check_within_hours", "assignee_id", "backup")]
