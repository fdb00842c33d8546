"""Read an organisational parameter from a deployed decision table, outside any process.

Pages need the numbers process owners keep in DMN (the caseload cap of
``caseload_limits``, the quorum of ``committee_rules``) to draw a cap line or a quorum
bar. Those tables key each rule on one literal (``"caseworker"``, ``"admission"``); this
reads the rule whose input cells match literally (or are ``-``) and returns its literal
outputs. Anything the table cannot answer that way gives ``None`` — the page then says
the parameter is not configured rather than guessing a number.
"""
from __future__ import annotations

import ast
import logging
from collections.abc import Iterator
from functools import lru_cache

from lxml import etree
from sqlalchemy import func, select

from engine.bpmn.namespaces import DMN_NAMESPACES, parse_xml
from engine.models import ProcessModel, ProcessModelFile

log = logging.getLogger(__name__)


def _literal(text: str | None):
    try:
        return ast.literal_eval((text or "").strip())
    except (ValueError, SyntaxError):
        return _NOT_LITERAL


_NOT_LITERAL = object()


@lru_cache(maxsize=64)
def _rules(xml_text: str, decision_id: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple] | None:
    """(input expressions, output names, rules as (input cells, output cells))."""
    try:
        root = parse_xml(xml_text)
    except etree.XMLSyntaxError:
        return None
    for ns in DMN_NAMESPACES:
        decision = root.find(f"{{{ns}}}decision[@id='{decision_id}']")
        if decision is None:
            continue
        table = decision.find(f"{{{ns}}}decisionTable")
        if table is None:
            return None
        inputs = tuple((i.findtext(f"{{{ns}}}inputExpression/{{{ns}}}text") or "").strip()
                       for i in table.findall(f"{{{ns}}}input"))
        outputs = tuple(o.get("name") or "" for o in table.findall(f"{{{ns}}}output"))
        rules = tuple((tuple(e.findtext(f"{{{ns}}}text") or "" for e in r.findall(f"{{{ns}}}inputEntry")),
                       tuple(e.findtext(f"{{{ns}}}text") or "" for e in r.findall(f"{{{ns}}}outputEntry")))
                      for r in table.findall(f"{{{ns}}}rule"))
        return inputs, outputs, rules
    return None


# (model version's content hash, filename) -> the DMN text: a deployed version's files never
# change, so a page names its tables with one query and reads no file it has read before
_dmn_texts: dict[tuple[str, str], str] = {}


def deployed_dmn_texts(session) -> Iterator[str]:
    """The DMN files of the newest version of every process (by process id), one query for
    which they are; a file's text is read from the database the first time only."""
    newest = (select(ProcessModel.process_id, func.max(ProcessModel.version).label("v"))
              .group_by(ProcessModel.process_id).subquery())
    files = session.execute(
        select(ProcessModel.content_hash, ProcessModelFile.filename, ProcessModelFile.id)
        .join(ProcessModelFile, ProcessModelFile.model_id == ProcessModel.id)
        .join(newest, (ProcessModel.process_id == newest.c.process_id) & (ProcessModel.version == newest.c.v))
        .where(ProcessModelFile.kind == "dmn").order_by(ProcessModel.process_id, ProcessModelFile.id)).all()
    for content_hash, filename, file_id in files:
        key = (content_hash, filename)
        text = _dmn_texts.get(key)
        if text is None:
            text = session.scalar(select(ProcessModelFile.content).where(ProcessModelFile.id == file_id)) or ""
            _dmn_texts[key] = text
        yield text


def decision_row(session, decision_id: str, **inputs) -> dict | None:
    """The outputs of the first rule of ``decision_id`` (newest deployed) whose input cells
    equal ``inputs`` literally or are ``-``; None if the table cannot say."""
    for content in deployed_dmn_texts(session):
        if decision_id in content:
            parsed = _rules(content, decision_id)
            if parsed is None:
                continue
            names, outputs, rules = parsed
            for cells, results in rules:
                if all(cell.strip() in ("", "-") or _literal(cell) == inputs.get(name)
                       for name, cell in zip(names, cells, strict=False)):
                    values = {out: _literal(text) for out, text in zip(outputs, results, strict=False)}
                    return None if _NOT_LITERAL in values.values() else values
            return None
    return None


def decision_value(session, decision_id: str, output: str, **inputs):
    row = decision_row(session, decision_id, **inputs)
    return None if row is None else row.get(output)
