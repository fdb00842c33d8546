"""Every action the engine audits reads as words on the audit pages, in every language: a new
audited action without a label would show as its stored value (``case_file_released``)."""
from __future__ import annotations

import ast
from pathlib import Path

from engine.models.case import CaseEventKind
from engine.settings import PROJECT_ROOT
from webui.audit_words import ACTIONS


def audited_actions() -> dict[str, str]:
    """Each action literal the engine passes to ``….audit(actor, action, …)``, with where."""
    found: dict[str, str] = {}
    for path in sorted((PROJECT_ROOT / "engine").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "audit"
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                    and isinstance(node.args[1].value, str)):
                found.setdefault(node.args[1].value, f"{Path(path).relative_to(PROJECT_ROOT)}:{node.lineno}")
    return found


def test_every_action_the_engine_audits_has_a_label():
    actions = audited_actions()
    assert "case_file_released" in actions and "task_claimed" in actions  # the scan finds them
    unlabelled = {action: where for action, where in actions.items()
                  if action not in ACTIONS and action.removeprefix("case_") not in CaseEventKind.values()}
    assert unlabelled == {}
