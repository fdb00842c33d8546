"""Rewrite every stored spec and instance state in this engine's formats
(``python -m webui.cli upgrade-state``), after an upgrade of SpiffWorkflow.

Loading converts an older text on the fly (``engine.bpmn.state_formats``), so nothing
breaks without this; the rewrite makes every later load cheap and shows, before anyone
opens a case, which rows no converter reads (each is named, and left as it was).

Specs first (an instance's conversion reads its model's specs), then instances in id order,
``batch`` rows a transaction. An instance is rewritten only at the version it was read at,
and its version moves on, so a step that ran meanwhile wins and no step is lost or
overwritten (such a row is counted ``moved_on``: it was saved by this engine anyway).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import undefer

from engine.bpmn import instance_rows, state_formats
from engine.bpmn.state_formats import UnknownFormat
from engine.models import ProcessInstance, ProcessModel


@dataclass
class UpgradeReport:
    specs_upgraded: int = 0
    states_upgraded: int = 0
    states_current: int = 0
    moved_on: int = 0
    refused: list[str] = field(default_factory=list)  # "process model 3: ..." / "instance 17: ..."


def upgrade_all(session_factory, dry_run: bool = False, batch: int = 200) -> UpgradeReport:
    report = UpgradeReport()
    specs = _upgrade_specs(session_factory, dry_run, report)
    last_id = 0
    while True:
        with session_factory() as session:
            rows = session.execute(select(ProcessInstance.id, ProcessInstance.model_id, ProcessInstance.version,
                                          ProcessInstance.state_json)
                                   .where(ProcessInstance.id > last_id).order_by(ProcessInstance.id).limit(batch)).all()
            if not rows:
                return report
            for row in rows:
                _upgrade_instance(session, row, specs.get(row.model_id), dry_run, report)
            session.commit()
            last_id = rows[-1].id


def _upgrade_specs(session_factory, dry_run: bool, report: UpgradeReport) -> dict[int, dict]:
    """Every model's specs (parsed, in this engine's format), by model id."""
    parsed: dict[int, dict] = {}
    with session_factory() as session:
        for model in session.scalars(select(ProcessModel).options(undefer(ProcessModel.spec_json))):
            if not model.spec_json:
                continue  # a view-only version SpiffWorkflow could not build: no specs, no instances
            try:
                specs = json.loads(model.spec_json)
                changed = state_formats.upgrade_specs(specs)
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                report.refused.append(f"process model {model.id} ({model.process_id} v{model.version}): {err}")
                continue
            parsed[model.id] = specs
            if changed:
                report.specs_upgraded += 1
                if not dry_run:
                    session.execute(update(ProcessModel).where(ProcessModel.id == model.id).values(
                        spec_json=json.dumps(specs, sort_keys=True, separators=(",", ":"))))
        session.commit()
    return parsed


def _upgrade_instance(session, row, specs: dict | None, dry_run: bool, report: UpgradeReport) -> None:
    try:
        state = json.loads(row.state_json)
        if state.get("format") == state_formats.STATE_FORMAT:
            report.states_current += 1
            return
        if specs is None:
            raise UnknownFormat("its process model has no specs this engine can read")
        state_formats.upgrade_state(state, state_formats.spec_typenames(specs))
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        report.refused.append(f"instance {row.id}: {err}")
        return
    if dry_run:
        report.states_upgraded += 1
        return
    if instance_rows.rewrite_saved_state(session, row.id, row.version, state):
        report.states_upgraded += 1
    else:
        report.moved_on += 1
