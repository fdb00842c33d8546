"""The risk level a rating form suggests while the caseworker ticks needs (R08-R10).

``suggest_risk_level`` evaluates the deployed ``risk_level`` decision — the same table the
``case_risk_rating`` diagram runs when the form is submitted — on the counts of the needs
ticked so far, with the engine's sandboxed script engine (cells are diagram code). It
refuses what the submission would refuse: a need given both as red and as yellow counts
twice (422). Nothing is stored and no case is read, so nothing needs auditing.

Bounded: at most ``MAX_NEEDS`` needs per colour, each a short code; the parsed table is
cached per deployed content.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.bpmn.namespaces import parse_xml
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import Invalid, ServiceUnavailable
from engine.people.directory import get_user
from engine.process.decision_parameters import deployed_dmn_texts

RISK_DECISION = "risk_level"
MAX_NEEDS = 50
MAX_CODE_LENGTH = 80


@dataclass(frozen=True)
class RiskSuggestion:
    risk_level: str
    needs_judgement: bool


def checked_needs(red, yellow) -> tuple[list[str], list[str]]:
    """Two lists of distinct need codes, no need in both (422 naming the field otherwise)."""
    errors: dict[str, list[str]] = {}
    lists = {}
    for field, value in (("red_needs", red), ("yellow_needs", yellow)):
        if not isinstance(value, list):
            errors[field] = ["a list of need codes"]
            continue
        if len(value) > MAX_NEEDS:
            errors[field] = [f"at most {MAX_NEEDS} needs"]
            continue
        if not all(isinstance(code, str) and 0 < len(code) <= MAX_CODE_LENGTH for code in value):
            errors[field] = [f"need codes are text of 1 to {MAX_CODE_LENGTH} characters"]
            continue
        lists[field] = list(dict.fromkeys(value))
    if errors:
        raise Invalid("the needs are not lists of need codes", errors=errors)
    both = sorted(set(lists["red_needs"]) & set(lists["yellow_needs"]))
    if both:
        message = f"a need is either red or yellow, not both: {', '.join(both)}"
        raise Invalid(message, errors={"red_needs": [message], "yellow_needs": [message]})
    return lists["red_needs"], lists["yellow_needs"]


@lru_cache(maxsize=8)
def _table(dmn_text: str):
    parser = BpmnDmnParser()
    parser.add_dmn_xml(parse_xml(dmn_text))
    dmn = parser.dmn_parsers[RISK_DECISION]
    dmn.parse()
    return dmn.decision.decisionTables[0]


def _deployed_table(session):
    for content in deployed_dmn_texts(session):
        if f'id="{RISK_DECISION}"' in content:
            return _table(content)
    raise ServiceUnavailable("no risk_level decision is deployed: the suggestion cannot be made")


def suggest_risk_level(session, runtime: ProcessRuntime, user_id: int, red_needs, yellow_needs) -> RiskSuggestion:
    """``POST /api/decisions/risk_level/suggest``: the level the deployed table gives these
    needs, and whether it asks for the caseworker's judgement (exactly three yellow, R09)."""
    get_user(session, user_id)
    red, yellow = checked_needs(red_needs, yellow_needs)
    table = _deployed_table(session)
    task = SimpleNamespace(data={"red_count": len(red), "yellow_count": len(yellow)},
                           workflow=SimpleNamespace(script_engine=runtime.script_engine))
    try:
        outputs = DMNEngine(table).result(task)
    except SpiffWorkflowException as err:
        raise ServiceUnavailable(f"the deployed risk_level decision failed: {err}") from err
    level = outputs.get("risk_level")
    if not isinstance(level, str):
        raise ServiceUnavailable("the deployed risk_level decision gives no level for these needs")
    return RiskSuggestion(level, bool(outputs.get("needs_judgement")))
