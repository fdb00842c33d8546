"""``python -m webui.cli backup PATH`` and ``restore PATH --verify`` (CONTRACT, operator
commands): a backup restores into a scratch database that matches its manifest (exit 0); a
copy changed or cut short, an altered manifest, or a copy whose rows or audit chain differ
from what the manifest recorded, or whose kept case counts are out of step with its cases, fails
with the mismatch named (exit 1). Each verify run is
kept for the BCP readiness "backup restore test"."""
from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3

import pytest
from sqlalchemy import select, text

from engine import clock
from engine.case import case_counts
from engine.crisis import readiness as crisis_readiness
from engine.models import AuditEvent, Timer
from engine.models.crisis import ReadinessActivity
from engine.process import instances
from engine.service_ops import backup_manifest, backup_records
from tests.conftest import WORKFLOWS
from tests.engine.crisis_support import complete, ready_task, user_id
from tests.webui.test_pages_support import sign_in
from webui import cli

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
REFERRAL = {"referral": {"source": "self-referral", "primary_concern": "left school to work"},
            "client": {"name": "Backup Sample"}}


@pytest.fixture
def operator(monkeypatch, database_url, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("WORKFLOWS_DIR", str(WORKFLOWS))
    monkeypatch.setenv("MIGRATE_ON_START", "0")
    monkeypatch.delenv("APP_ENV", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def backed_up(ctx, client, token_for, operator, tmp_path):
    """A database with a case and its audit trail, backed up to ``tmp_path/backup.dump``."""
    assert client.post("/api/cases", json=REFERRAL, headers=token_for("caseworker1")).status_code == 201
    path = tmp_path / "backup.dump"
    code, out, err = operator("backup", str(path))
    assert code == 0, err
    assert "backup written" in out
    return path


def manifest_of(path) -> dict:
    return json.loads(backup_manifest.paths(path)[1].read_text())


def test_a_backup_restores_and_matches_its_manifest(backed_up, operator, ctx):
    manifest = manifest_of(backed_up)
    assert manifest["tables"]["cases"] == 1 and manifest["tables"]["users"] >= 9
    assert manifest["audit"]["rows"] == manifest["tables"]["audit_events"] > 0
    assert manifest["audit"]["head_id"] is not None and manifest["taken_at"]
    code, out, err = operator("restore", str(backed_up), "--verify")
    assert code == 0, err
    assert "restore verified" in out
    with ctx.session_factory() as session:
        last = backup_records.last_check(session)
    assert last is not None and last.ok and last.backup_path == str(backed_up)
    assert last.rows_checked == sum(manifest["tables"].values())


def test_a_tampered_or_truncated_copy_fails_the_verify(backed_up, operator, ctx):
    copy = backup_manifest.paths(backed_up)[0]
    original = copy.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0xFF
    copy.write_bytes(bytes(flipped))
    code, _, err = operator("restore", str(backed_up), "--verify")
    assert code == 1 and "was altered" in err

    copy.write_bytes(original[: len(original) // 3])
    code, _, err = operator("restore", str(backed_up), "--verify")
    assert code == 1 and "cut short" in err
    with ctx.session_factory() as session:
        last = backup_records.last_check(session)
    assert last is not None and not last.ok and "cut short" in last.summary


def test_a_manifest_edited_by_hand_fails_the_verify(backed_up, operator):
    _, manifest_path = backup_manifest.paths(backed_up)
    body = json.loads(manifest_path.read_text())
    body["tables"]["cases"] = 0
    manifest_path.write_text(json.dumps(body))
    code, _, err = operator("restore", str(backed_up), "--verify")
    assert code == 1 and "manifest" in err and "altered" in err


def test_a_manifest_rewritten_with_its_checksum_still_fails_on_the_rows(backed_up, operator):
    """Someone recomputes the manifest's own checksum: the restored rows still tell."""
    copy, manifest_path = backup_manifest.paths(backed_up)
    body = json.loads(manifest_path.read_text())
    body.pop("manifest_sha256")
    body["tables"]["cases"] = 5
    manifest = backup_manifest.Manifest(**{**body, "audit": backup_manifest.AuditHead(**body["audit"])})
    manifest_path.write_text(manifest.to_json())
    code, _, err = operator("restore", str(backed_up), "--verify")
    assert code == 1 and "table cases: 1 rows restored, the manifest says 5" in err


@SQLITE_ONLY
def test_an_audit_row_changed_inside_the_copy_breaks_its_chain(backed_up, operator):
    """Even a copy edited and re-hashed, with a manifest to match, is caught by the chain."""
    copy, manifest_path = backup_manifest.paths(backed_up)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE audit_events SET action = 'nothing_happened' "
                     "WHERE id = (SELECT min(id) FROM audit_events)")
    body = json.loads(manifest_path.read_text())
    body.pop("manifest_sha256")
    body.update(size=copy.stat().st_size, sha256=backup_manifest.file_sha256(copy))
    manifest = backup_manifest.Manifest(**{**body, "audit": backup_manifest.AuditHead(**body["audit"])})
    manifest_path.write_text(manifest.to_json())
    code, _, err = operator("restore", str(backed_up), "--verify")
    assert code == 1 and "audit chain broken" in err and "hash mismatch" in err


@SQLITE_ONLY
def test_no_backup_where_there_is_none_and_verify_is_required(operator, tmp_path):
    code, _, err = operator("restore", str(tmp_path / "nothing-here"), "--verify")
    assert code == 1 and "no manifest" in err
    with pytest.raises(SystemExit) as refused:
        operator("restore", str(tmp_path / "nothing-here"))
    assert refused.value.code == 2


@SQLITE_ONLY
def test_a_directory_holds_the_copy_and_its_manifest(ctx, operator, tmp_path):
    target = tmp_path / "nightly"
    target.mkdir()
    assert operator("backup", str(target))[0] == 0
    assert sorted(p.name for p in target.iterdir()) == ["database.backup", "database.backup.manifest.json"]
    assert operator("restore", str(target), "--verify")[0] == 0


def test_the_bcp_backup_restore_test_shows_and_keeps_the_last_real_restore_check_R41(
        backed_up, operator, ctx, app, client, token_for):
    assert operator("restore", str(backed_up), "--verify")[0] == 0
    with ctx.uow() as uow:
        crisis_readiness.schedule_readiness(uow, ctx.runtime, user_id(ctx, "crisislead1"))
        uow.commit()
    with ctx.session_factory() as session:
        drill = session.get(ReadinessActivity, "backup_restore_test")
        timer = session.scalar(select(Timer).where(Timer.instance_id == drill.instance_id, Timer.state == "pending"))
    clock.freeze(timer.due_at + dt.timedelta(minutes=5))
    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, timer.id)
    task = ready_task(ctx, drill.instance_id, "do_backup_restore_test")

    shown = client.get(f"/api/tasks/{task.id}", headers=token_for("crisislead1")).get_json()
    facts = {f["label"]: f for f in shown["subject"]["sections"][0]["facts"]}
    assert facts["Matched its manifest"]["yes"] is True and facts["Backup"]["text"] == str(backed_up)
    findings = shown["subject"]["prefill"]["findings"]
    assert "matched its manifest" in findings and str(backed_up) in findings
    page = sign_in(app, "crisislead1").get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "Matched its manifest" in page.get_data(as_text=True)

    complete(ctx, "crisislead1", task, {"done": True, "findings": "restored in 4 minutes"})
    with ctx.session_factory() as session:
        outcome = session.get(ReadinessActivity, "backup_restore_test").last_outcome
    assert outcome.startswith("restored in 4 minutes") and "matched its manifest" in outcome


def test_a_backup_kept_deep_in_the_operators_folders_is_verified_and_its_check_kept(backed_up, operator, ctx):
    """Backups live where the operator keeps them: a path of any length is checked, kept
    for the readiness activity and audited (it once overflowed the audit row and went unrecorded)."""
    deep = backed_up.parent / ("nightly-backups-of-the-casework-service" + "/kept" * 20) / "backup.dump"
    deep.parent.mkdir(parents=True)
    for part in backup_manifest.paths(backed_up):
        part.rename(deep.parent / part.name.replace(backed_up.name, deep.name))
    assert len(str(deep)) > 150
    code, out, err = operator("restore", str(deep), "--verify")
    assert code == 0, err
    with ctx.session_factory() as session:
        last = backup_records.last_check(session)
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "backup_verified")).all()
    assert last is not None and last.ok and last.backup_path == str(deep)
    assert [json.loads(event.detail_json)["path"] for event in audited] == [str(deep)]


def test_a_backup_whose_kept_case_counts_are_out_of_step_fails_the_verify_with_the_fix_named(ctx, client, token_for,
                                                                                            operator, tmp_path):
    """A restore of it would give a supervisor dashboard that miscounts the cases: the verify
    says so and names the command that mends it."""
    assert client.post("/api/cases", json=REFERRAL, headers=token_for("caseworker1")).status_code == 201
    with ctx.uow() as uow:
        uow.session.execute(text("DELETE FROM case_count_deltas"))  # as something the triggers cannot see
        uow.commit()
    path = tmp_path / "drifted.dump"
    assert operator("backup", str(path))[0] == 0
    code, _, err = operator("restore", str(path), "--verify")
    assert code == 1
    assert ("the dashboard's case counts differ from the cases in 1 group(s) (python -m webui.cli case-counts "
            "rebuild after the restore makes them agree)") in err
    with ctx.uow() as uow:
        case_counts.recount(uow)
    assert operator("backup", str(path))[0] == 0
    assert operator("restore", str(path), "--verify")[0] == 0


@SQLITE_ONLY
def test_a_backup_from_before_the_kept_case_counts_still_verifies(backed_up, operator):
    """A copy older than the counts (migration 0021) has none to check: migrating it makes them."""
    copy, manifest_path = backup_manifest.paths(backed_up)
    with sqlite3.connect(copy) as conn:
        for name in ("cases_counted_insert", "cases_counted_delete", "cases_counted_update"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE case_count_deltas")
    body = json.loads(manifest_path.read_text())
    body.pop("manifest_sha256")
    body["tables"].pop("case_count_deltas", None)
    body.update(size=copy.stat().st_size, sha256=backup_manifest.file_sha256(copy))
    manifest = backup_manifest.Manifest(**{**body, "audit": backup_manifest.AuditHead(**body["audit"])})
    manifest_path.write_text(manifest.to_json())
    code, out, err = operator("restore", str(backed_up), "--verify")
    assert code == 0, err
    assert "restore verified" in out
