"""Deploy-time checks of DMN decision tables: one decision per file, a table of a
supported hit policy, cells that lint clean (read as ``engine.bpmn.dmn_cells`` says the
engine reads them), and the table as a :class:`DecisionTable` for the checks that need the
rest of the bundle: the inputs' domains (``engine.bpmn.dmn_domains``) and the sweep for
gaps and overlaps (``engine.bpmn.dmn_coverage``).

:class:`Problem` is the one shape every deploy-time check reports in.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS

from engine.bpmn import sandbox
from engine.bpmn.dmn_cells import glue_problem, reading

HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")
REFUSED = "invalid"  # the bundle is refused
CANNOT_RUN = "cannot_run"  # the file is safe and well-formed, but its process cannot run here


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file of a bundle. ``kind``: ``invalid`` (the upload is
    refused) or ``cannot_run`` (it may deploy view-only, see ``engine.bpmn.spec_parsing``)."""
    file: str
    element_id: str | None
    line: int | None
    message: str
    kind: str = REFUSED


@dataclass(frozen=True)
class TableInput:
    id: str | None
    label: str
    expression: str
    type_ref: str
    declared_values: str | None  # the text of <inputValues>, when given
    line: int | None


@dataclass(frozen=True)
class TableRule:
    id: str
    line: int | None
    cells: tuple[str | None, ...]  # None: any value
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class DecisionTable:
    id: str
    file: str
    line: int | None
    hit_policy: str
    inputs: tuple[TableInput, ...]
    output_names: tuple[str, ...]
    rules: tuple[TableRule, ...]


def owner_id(element) -> str | None:
    """The id of ``element`` or of its nearest ancestor that has one."""
    while element is not None:
        if element.get("id"):
            return element.get("id")
        element = element.getparent()
    return None


def lint(source: str, mode: str, file: str, element, what: str,
         element_id: str | None = None) -> list[Problem]:
    """``sandbox.lint`` findings as problems at ``element``'s line (plus the finding's).
    A syntax error is ``cannot_run`` (the text may be another modeler's expression
    language); a sandbox violation is refused."""
    start = element.sourceline
    return [Problem(file, element_id or owner_id(element),
                    start + issue.line - 1 if start else None, f"{what}: {issue.message}",
                    CANNOT_RUN if issue.message.startswith("syntax error") else REFUSED)
            for issue in sandbox.lint(source, mode)]


def refused(problems: list[Problem]) -> list[Problem]:
    """``problems`` with every one made a refusal (DMN tables and forms never deploy view-only)."""
    return [p if p.kind == REFUSED else Problem(p.file, p.element_id, p.line, p.message) for p in problems]


def read_dmn(file: str, root) -> tuple[str | None, DecisionTable | None, list[Problem]]:
    """The id of the decision this DMN document defines, its table (None when it has
    problems) and the problems found in it."""
    ns = etree.QName(root).namespace
    if etree.QName(root).localname != "definitions" or ns not in SCHEMAS:
        return None, None, [Problem(file, root.get("id"), root.sourceline,
                                    "not a DMN document (root must be <definitions> in a DMN 1.1-1.3 namespace)")]
    if ns not in (root.nsmap.get(None), root.nsmap.get("dmn")):
        return None, None, [Problem(file, root.get("id"), root.sourceline,
                                    "the DMN namespace must be the default namespace or use the prefix 'dmn'")]
    decisions = list(root.iter(f"{{{ns}}}decision"))
    if not decisions:
        return None, None, [Problem(file, root.get("id"), root.sourceline, "no decision in this DMN file")]
    problems = [Problem(file, extra.get("id"), extra.sourceline,
                        f"a DMN file holds one decision; {decisions[0].get('id')!r} is already here")
                for extra in decisions[1:]]
    decision = decisions[0]
    if not decision.get("id"):
        return None, None, problems + [Problem(file, None, decision.sourceline, "decision has no id")]
    table, found = _read_decision(file, decision, ns)
    problems = refused(problems + found)
    return decision.get("id"), (None if problems else table), problems


def _text(element, ns: str) -> str | None:
    child = element.find(f"{{{ns}}}text")
    return None if child is None else (child.text or "")


def _read_decision(file: str, decision, ns: str) -> tuple[DecisionTable | None, list[Problem]]:
    def q(tag: str) -> str:
        return f"{{{ns}}}{tag}"

    decision_id = decision.get("id")
    tables = decision.findall(q("decisionTable"))
    if len(tables) != 1:
        return None, [Problem(file, decision_id, decision.sourceline,
                              f"a decision needs exactly one decisionTable, found {len(tables)}")]
    table = tables[0]
    problems: list[Problem] = []
    hit_policy = table.get("hitPolicy", "UNIQUE").upper()
    if hit_policy not in HIT_POLICIES:
        problems.append(Problem(file, decision_id, table.sourceline,
                                f"hit policy {hit_policy} is not supported (use one of {', '.join(HIT_POLICIES)})"))
    if table.get("aggregation"):
        problems.append(Problem(file, decision_id, table.sourceline,
                                "COLLECT aggregation is not supported (the engine returns lists)"))
    inputs = []
    for element in table.findall(q("input")):
        expression = element.find(q("inputExpression"))
        text = _text(expression, ns) if expression is not None else None
        label = element.get("label") or element.get("name") or text or element.get("id")
        if not text or not text.strip():
            problems.append(Problem(file, element.get("id"), element.sourceline,
                                    f"input {label!r} has no input expression"))
            continue
        problems += lint(text, "eval", file, expression, f"input expression {text!r}", element.get("id"))
        declared = element.find(q("inputValues"))
        inputs.append(TableInput(element.get("id"), label, text, expression.get("typeRef", "") or "",
                                 _text(declared, ns) if declared is not None else None, element.sourceline))
    if problems:
        return None, problems
    output_names = tuple(o.get("name") or o.get("label") or o.get("id") or "" for o in table.findall(q("output")))
    rules = []
    for rule in table.findall(q("rule")):
        entries, outputs = rule.findall(q("inputEntry")), rule.findall(q("outputEntry"))
        if len(entries) != len(inputs) or len(outputs) != len(output_names):
            problems.append(Problem(file, rule.get("id"), rule.sourceline,
                                    f"rule has {len(entries)} input and {len(outputs)} output entries; "
                                    f"the table has {len(inputs)} inputs and {len(output_names)} outputs"))
            continue
        cells = []
        for inp, entry in zip(inputs, entries, strict=True):
            text = _text(entry, ns)
            if entry.find(q("text")) is None:
                problems.append(Problem(file, rule.get("id"), entry.sourceline,
                                        f"input entry for {inp.label!r} has no <text>"))
            cell = None if text in ("", "-") else text
            cells.append(cell)
            if cell is not None:
                problems += _check_cell(file, rule.get("id"), entry, inp, cell)
        output_texts = []
        for entry in outputs:
            text = _text(entry, ns) or ""
            output_texts.append(text)
            if text.strip():
                problems += lint(text, "eval", file, entry, f"output entry {text!r}", rule.get("id"))
        rules.append(TableRule(rule.get("id"), rule.sourceline, tuple(cells), tuple(output_texts)))
    if problems:
        return None, problems
    return DecisionTable(decision_id, file, table.sourceline, hit_policy, tuple(inputs), output_names,
                         tuple(rules)), []


def _check_cell(file: str, rule_id: str, entry, inp: TableInput, cell: str) -> list[Problem]:
    what = f"input entry {cell!r} for {inp.label!r}"
    if cell.strip() in ("", "-"):
        return [Problem(file, rule_id, entry.sourceline,
                        f"{what}: a blank cell does not mean 'any value': write exactly '-'")]
    problems = lint(reading(inp.expression, cell).engine_text, "eval", file, entry, what, rule_id)
    if problems:
        return problems
    why = glue_problem(inp.expression, cell)
    return [Problem(file, rule_id, entry.sourceline, f"{what}: {why}")] if why else []
