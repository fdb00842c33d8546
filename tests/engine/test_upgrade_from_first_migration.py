"""An installation from the first release upgrades in place: a database holding data written
at migration 0001 — people, a deployed model, a running instance saved by SpiffWorkflow 2.x
(serializer format 1.3), its tasks, timer, job and audit trail — migrates to head on SQLite
and on PostgreSQL, keeps every row, matches the models exactly, keeps an intact audit chain,
and its instance converts (``upgrade-state``), restores and runs to its end."""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import MetaData, create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine.bpmn import format_upgrade, state_formats
from engine.bpmn.runtime import ProcessRuntime
from engine.infra import audit_chain, db
from engine.models import Base, HumanTask, OutboxMessage, ProcessInstance, Timer, User
from tests.conftest import PG_ADMIN_URL, _unavailable
from tests.engine.test_state_formats import vote_all

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "state_formats" / "committee_vote_v1_3.json")
                     .read_text())
WHEN = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'first-release.db'}"
        return
    name = f"casework_first_release_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        admin.dispose()
        _unavailable("PostgreSQL", str(err).splitlines()[0])
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrate(engine, revision: str) -> None:
    cfg = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def write_first_release_data(engine) -> list[str]:
    """Rows as the first release wrote them (its tables, its columns); the ids of the open tasks."""
    state = json.loads(FIXTURE["state_json"])
    open_votes = [tid for tid, t in state["tasks"].items() if t["task_spec"] == "vote [child]" and t["state"] == 16]
    tables = MetaData()
    with engine.begin() as conn:
        tables.reflect(conn)
        t = tables.tables
        conn.execute(t["users"].insert(), [
            {"id": 1, "username": "caseworker_old", "display_name": "Caseworker from the first release",
             "password_hash": "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "active": True,
             "available": True, "failed_logins": 0, "created_at": WHEN},
            {"id": 2, "username": "supervisor_old", "display_name": "Supervisor from the first release",
             "password_hash": "x", "active": True, "available": True, "failed_logins": 0, "created_at": WHEN}])
        conn.execute(t["user_roles"].insert(), [{"user_id": 1, "role": "caseworker"},
                                               {"user_id": 2, "role": "supervisor"}])
        conn.execute(t["supervision"].insert(), [{"supervisor_id": 2, "supervisee_id": 1}])
        conn.execute(t["process_models"].insert(), [{
            "id": 1, "process_id": FIXTURE["process_id"], "name": "Committee vote", "version": 1,
            "content_hash": "0" * 64, "spec_json": FIXTURE["spec_json"], "deployed_at": WHEN, "deployed_by": 2}])
        conn.execute(t["process_model_files"].insert(), [{"id": 1, "model_id": 1, "filename": "committee_vote.bpmn",
                                                         "kind": "bpmn", "content": "<bpmn:definitions/>"}])
        conn.execute(t["process_instances"].insert(), [{
            "id": 1, "model_id": 1, "process_id": FIXTURE["process_id"], "status": "running",
            "state_json": FIXTURE["state_json"], "version": 3, "started_by": 2, "created_at": WHEN,
            "updated_at": WHEN}])
        conn.execute(t["human_tasks"].insert(), [{
            "id": task_id, "instance_id": 1, "process_id": FIXTURE["process_id"], "bpmn_id": "vote", "name": "Vote",
            "title": "Vote", "role": "committee", "state": "ready", "created_at": WHEN, "priority": 2,
            "due_at": WHEN + dt.timedelta(days=7)} for task_id in open_votes])
        conn.execute(t["timers"].insert(), [{"id": 1, "instance_id": 1, "task_id": str(uuid.uuid4()),
                                            "bpmn_id": "reminder", "due_at": WHEN + dt.timedelta(days=3),
                                            "state": "pending"}])
        conn.execute(t["outbox"].insert(), [{"id": 1, "actor": "fire_timer", "args_json": "[1]",
                                            "eta": WHEN + dt.timedelta(days=3), "created_at": WHEN, "attempts": 1,
                                            "sent_at": WHEN}])
        conn.execute(t["audit_events"].insert(), [
            {"id": n, "at": WHEN + dt.timedelta(minutes=n), "actor_id": 2, "action": action,
             "subject_type": "process_instance", "subject_id": "1", "detail_json": "{}"}
            for n, action in ((1, "process_started"), (2, "task_completed"))])
    return open_votes


def test_a_first_release_database_upgrades_to_head_and_its_work_goes_on(empty_database):
    engine = db.make_engine(empty_database)
    try:
        migrate(engine, "0001")
        open_votes = write_first_release_data(engine)
        db.upgrade(engine)
        head = ScriptDirectory.from_config(db.alembic_config(empty_database)).get_current_head()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
        factory = db.make_session_factory(engine)
        with factory() as session:
            user = session.scalar(select(User).where(User.username == "caseworker_old"))
            assert user is not None and user.has_role("caseworker") and user.active
            assert sorted(session.scalars(select(HumanTask.id).where(HumanTask.state == "ready"))) == sorted(open_votes)
            assert session.scalar(select(func.count()).select_from(Timer)) == 1
            assert session.scalar(select(OutboxMessage.actor)) == "fire_timer"
            chain = audit_chain.verify(session)
            assert chain.intact and chain.rows == 2, chain.broken and chain.broken.describe()

        report = format_upgrade.upgrade_all(factory)
        assert (report.specs_upgraded, report.states_upgraded, report.refused) == (1, 1, [])
        assert format_upgrade.upgrade_all(factory).states_current == 1  # a second run has nothing to do
        with Session(engine) as session:
            instance = session.get(ProcessInstance, 1)
            assert json.loads(instance.state_json)["format"] == state_formats.STATE_FORMAT and instance.version == 4
            runtime = ProcessRuntime()
            workflow = runtime.restore(instance)
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert sorted(str(t.id) for t in ready) == sorted(open_votes)
            vote_all(runtime, workflow)
            assert workflow.is_completed() and workflow.data["approvals"] == 3
    finally:
        engine.dispose()
