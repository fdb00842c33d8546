"""``python -m webui.cli upgrade-state [--dry-run]``: after a SpiffWorkflow upgrade the
operator rewrites every stored state and spec in this engine's format once; a dry run says
what it would convert and changes nothing; a row no converter reads is named (exit 1) and
left as it was."""
from __future__ import annotations

import json

import pytest

from engine.bpmn import state_formats
from engine.models import ProcessInstance, ProcessModel
from tests.engine.test_state_formats import FIXTURE
from tests.webui.test_backup_commands import operator  # noqa: F401 - the fixture

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def saved_by_an_older_engine(ctx, *states: str) -> list[int]:
    saved = json.loads(FIXTURE.read_text())
    with ctx.uow() as uow:
        model = ProcessModel(process_id=saved["process_id"], name="Committee vote", version=1,
                             content_hash="f" * 64, spec_json=saved["spec_json"])
        uow.session.add(model)
        uow.session.flush()
        rows = [ProcessInstance(model_id=model.id, process_id=saved["process_id"], state_json=state)
                for state in states or (saved["state_json"],)]
        uow.session.add_all(rows)
        uow.commit()
        return [row.id for row in rows]


def stored(ctx, instance_id: int) -> tuple[str, int]:
    with ctx.session_factory() as session:
        row = session.get(ProcessInstance, instance_id)
        return json.loads(row.state_json)["format"], row.version


def test_a_dry_run_changes_nothing_and_the_upgrade_rewrites_each_row_once(ctx, operator):  # noqa: F811
    [old] = saved_by_an_older_engine(ctx)
    code, out, _ = operator("upgrade-state", "--dry-run")
    assert code == 0 and "would convert 1 process model spec(s) and 1 instance state(s)" in out
    assert stored(ctx, old) == ("spiff-1.3-specless", 1)
    code, out, _ = operator("upgrade-state")
    assert code == 0 and "converted 1 process model spec(s) and 1 instance state(s)" in out
    assert stored(ctx, old) == (state_formats.STATE_FORMAT, 2)
    code, out, _ = operator("upgrade-state")
    assert code == 0 and "converted 0 process model spec(s) and 0 instance state(s)" in out


@SQLITE_ONLY
def test_a_row_no_converter_reads_is_named_and_left_alone(ctx, operator):  # noqa: F811
    saved = json.loads(FIXTURE.read_text())
    ancient = json.loads(saved["state_json"])
    ancient["format"] = "spiff-1.0-specless"
    good, bad = saved_by_an_older_engine(ctx, saved["state_json"], json.dumps(ancient))
    code, _, err = operator("upgrade-state")
    assert code == 1 and f"instance {bad}:" in err and "'spiff-1.0-specless'" in err
    assert stored(ctx, good)[0] == state_formats.STATE_FORMAT
    assert stored(ctx, bad) == ("spiff-1.0-specless", 1)
