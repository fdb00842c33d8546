"""Which cases a disruption reaches (R35, R37): the stages each sub-function serves, the
preview before declaring, and widening or narrowing the scope afterwards.

The stages come from the ``bcp_function_scope`` decision — the same table the BCP diagram
evaluates when it plans the fan-out — read from the deployed BCP model, so the preview's
counts are the cases the fan-out then reaches: every open case in one of those stages.
Counts only: no case code, no name.

Changing the scope of an active disruption records the change in the disruption log with
the crisis team's note, and asks the fan-out to plan again: every case the new scope
covers that has no check yet gets one (exactly once: a check is unique per crisis and
case); checks already made stay, whatever the new scope. A change never starts recovery:
that is the crisis team's explicit confirmation that essential services have resumed.
"""
from __future__ import annotations

import json

from sqlalchemy import func, select

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.crisis import labels
from engine.crisis.declaration import (
    DECLARE_ROLES,
    add_system_entry,
    load_crisis,
    require_role,
    validate_functions,
)
from engine.errors import Conflict, Invalid
from engine.models import UNRATED, Case, CaseStage, CaseStatus, RiskLevel
from engine.models.crisis import Crisis, CrisisStatus
from engine.process import instances
from engine.process.decision_parameters import decision_row
from engine.service_ops.translations import N_

SCOPE_DECISION = "bcp_function_scope"
SCOPE_OUTPUT = "function_scope.stages"
NOTE_MAX = 2000
FUNCTION_RESUMPTION_PROCESS = "bcp_function_resumption"  # the resumption task of a sub-function added later


def function_stages(session, code: str) -> list[str]:
    """The case stages sub-function ``code`` serves (bcp_function_scope)."""
    row = decision_row(session, SCOPE_DECISION, function=code)
    text = row.get(SCOPE_OUTPUT) if row else None
    if not isinstance(text, str):
        raise Invalid(f"the {SCOPE_DECISION} decision gives no case stages for sub-function {code}: "
                      "deploy the BCP's decision tables")
    return [stage.strip() for stage in text.split(",") if stage.strip()]


def stages_of(session, functions: list[str]) -> list[str]:
    return sorted({stage for code in functions for stage in function_stages(session, code)})


def describe_scope(session, functions: list[str]) -> list[dict]:
    """Each sub-function with the stages it covers, in words."""
    out = []
    for code in functions:
        stages = function_stages(session, code)
        words = ", ".join(CaseStage.label_of(s).lower() for s in stages)
        out.append({"code": code, "label": labels.function_label(code), "stages": stages,
                    "stages_text": words[:1].upper() + words[1:]})
    return out


def preview(session, user_id: int, affected_functions) -> dict:
    """How many open cases the sub-functions reach now, by risk level and stage, in total
    and per sub-function, with the stages each covers (crisis team). Reads only."""
    require_role(session, user_id, DECLARE_ROLES, "preview the reach of a disruption")
    functions = validate_functions(affected_functions)
    scope = describe_scope(session, functions)
    stages = sorted({s for f in scope for s in f["stages"]})
    rows = session.execute(select(Case.risk_level, Case.stage, func.count()).where(
        Case.status == CaseStatus.OPEN, Case.stage.in_(stages)).group_by(Case.risk_level, Case.stage)).all()
    by_risk = dict.fromkeys((*RiskLevel.values(), UNRATED), 0)
    by_stage: dict[str, int] = {}
    for risk, stage, count in rows:
        key = risk if risk in by_risk else UNRATED
        by_risk[key] += count
        by_stage[stage] = by_stage.get(stage, 0) + count
    for item in scope:
        item["cases"] = sum(by_stage.get(stage, 0) for stage in item["stages"])
    return {"functions": functions, "scope": scope,
            "affected": {"total": sum(by_risk.values()), "by_risk": by_risk, "by_stage": by_stage}}


def change_scope(uow, runtime: ProcessRuntime, actor_id: int, crisis_id: int, affected_functions, note) -> Crisis:
    """Widen or narrow an active disruption's sub-functions, with a note saying why (the
    pages ask for one; an API client may leave it out) (crisis team).
    Newly covered cases get their checks through the fan-out; a sub-function added gets its
    resumption task. Commits."""
    session = uow.session
    user = require_role(session, actor_id, DECLARE_ROLES, "change the scope of a disruption")
    functions = validate_functions(affected_functions)
    text = note.strip() if isinstance(note, str) else ""
    if len(text) > NOTE_MAX:
        raise Invalid("the note is too long", errors={"note": [f"at most {NOTE_MAX} characters"]})
    crisis = load_crisis(session, crisis_id, for_update=True)
    if crisis.status == CrisisStatus.CLOSED:
        raise Conflict(N_("crisis %(id)s is closed: its scope is final") % {"id": crisis.id})
    before = crisis.functions
    if functions == before:
        raise Invalid("the scope is unchanged", errors={"affected_functions": ["choose a different set of "
                                                                               "sub-functions"]})
    params = json.loads(crisis.impact_parameters or "{}")
    if not params:
        raise Conflict("the fan-out of this disruption is still starting: try again in a moment")
    added, removed = [f for f in functions if f not in before], [f for f in before if f not in functions]
    params["stages"] = stages_of(session, functions)
    crisis.impact_parameters = json.dumps(params, sort_keys=True)
    crisis.affected_functions = ",".join(functions)
    crisis.scope_version = (crisis.scope_version or 1) + 1
    change = "widened" if added and not removed else "narrowed" if removed and not added else "changed"
    parts = [f"added {labels.functions_text(added)}" if added else "",
             f"removed {labels.functions_text(removed)}" if removed else ""]
    add_system_entry(session, crisis.id, "decision", f"Scope {change}: now {labels.functions_text(functions)} ("
                     f"{'; '.join(p for p in parts if p)}). {text or 'No note given.'}", user.id)
    uow.audit(user.id, "crisis_scope_changed", "crisis", crisis.id, before=before, after=functions,
              scope_version=crisis.scope_version)
    for code in added:
        instances.start_process(uow, runtime, FUNCTION_RESUMPTION_PROCESS, None, {
            "crisis_id": crisis.id, "function": code, "drill": crisis.drill,
            "resume_within_hours": _hours_left(crisis)}, parent_instance_id=crisis.instance_id)
    uow.enqueue("crisis_plan_checks", crisis.id)
    uow.commit()
    return crisis


def _hours_left(crisis: Crisis) -> int:
    """Whole hours to the resumption deadline (at least one): a sub-function added later
    is due with the others."""
    due = crisis.resumption_due_at
    if due is None:
        return 1
    return max(int((due - clock.now()).total_seconds() // 3600), 1)

