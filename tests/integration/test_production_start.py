"""Running it for real (issue 15): production mode comes up on an empty PostgreSQL through the
operator's explicit steps — ``migrate``, ``deploy``, the first admin by ``user add`` — and
four gunicorn workers start side by side without one of them migrating or deploying; a
production process refuses a database that is not migrated, saying what to run; and
``python -m webui`` (what ``make run`` starts) serves through waitress and stops on Ctrl-C.

Real processes, each started the way an operator would; the only waits are polls with a
deadline.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, inspect, select, text

from engine.infra import db
from engine.models import AuditEvent, ProcessModel
from engine.settings import PROJECT_ROOT
from tests.conftest import PG_ADMIN_URL
from tests.integration.conftest import PrivateRedis, _require_services
from tests.tasks.conftest import TASK_WORKFLOWS, free_port

BIN = Path(sys.executable).parent
STARTUP_S = 90
SAMPLE_NEEDS = {"red_needs": ["child_at_risk"], "yellow_needs": [], "summary": "seen at home"}
# settings a developer's shell may hold that would change what the processes do
UNSET = ("DEMO", "MIGRATE_ON_START", "DEPLOY_ON_START", "IN_PROCESS_WORKER", "WORKFLOWS_DIR", "INSTANCE_DIR", "PORT")


@pytest.fixture
def empty_database(request):
    """A PostgreSQL database with nothing in it, dropped afterwards."""
    _require_services()
    name = f"casework_start_{os.getpid()}_{request.node.name[5:25]}".lower().replace("[", "_").replace("]", "")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def production_env(empty_database, tmp_path):
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env.update({"APP_ENV": "production", "SECRET_KEY": "production-start-test-secret",
                "DATABASE_URL": empty_database, "REDIS_URL": redis_server.url,
                "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"})
    yield env
    redis_server.kill()


def operator(env, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``python -m webui.cli ARGS`` as an operator types it."""
    return subprocess.run([sys.executable, "-m", "webui.cli", *args], cwd=PROJECT_ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=180)


def start(cmd: list[str], env, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait(10)


def wait_for(condition, what: str, log: Path | None = None, timeout_s: float = STARTUP_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n" + (log.read_text(errors="replace")[-4000:]
                                                                       if log and log.exists() else ""))
        time.sleep(0.1)


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}"), response.headers
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), err.headers
    except (urllib.error.URLError, ConnectionError):
        return None, {}, {}


def token(base: str, username: str, password: str) -> str:
    status, body, _ = call(base, "POST", "/api/auth/token", {"username": username, "password": password})
    assert status == 200, body
    return body["access_token"]


def deploys(url: str) -> tuple[int, int, set[int]]:
    """(model_deployed audit rows, process model rows, their versions)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            audited = conn.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "model_deployed"))
            models = conn.scalar(select(func.count()).select_from(ProcessModel))
            versions = set(conn.scalars(select(ProcessModel.version)))
    finally:
        engine.dispose()
    return audited, models, versions


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_production_comes_up_on_an_empty_database_by_the_operator_steps_and_four_workers_deploy_nothing(
        production_env, tmp_path):
    env = production_env
    assert operator(env, "migrate").returncode == 0
    deployed = operator(env, "deploy")
    assert deployed.returncode == 0, deployed.stderr
    assert "sample_intake v1 deployed" in deployed.stdout
    added = operator(env, "user", "add", "chief", "--role", "admin", "--name", "Chief Administrator",
                     stdin="first admin's passphrase\n")
    assert added.returncode == 0, added.stderr
    after_deploy = deploys(env["DATABASE_URL"])
    assert after_deploy[0] == after_deploy[1] > 0 and after_deploy[2] == {1}

    port, log = free_port(), tmp_path / "gunicorn.log"
    # probes: a web process that deployed or seeded at start would add these diagrams or the demo users
    probing = {**env, "WORKFLOWS_DIR": str(TASK_WORKFLOWS), "DEMO": "1"}
    web = start([str(BIN / "gunicorn"), "webui.wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "4",
                 "--no-control-socket"], probing, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: call(base, "GET", "/healthz")[0] == 200, "the web app's health check", log)
        wait_for(lambda: log.read_text().count("Booting worker with pid") == 4, "four gunicorn workers", log)
        chief = token(base, "chief", "first admin's passphrase")
        assert call(base, "POST", "/api/auth/token", {"username": "caseworker1", "password": "demo"})[0] == 401
        status, body, _ = call(base, "POST", "/api/users", {"username": "fieldworker", "display_name": "Field Worker",
                                                             "roles": ["caseworker"], "password": "her own passphrase"},
                               chief)
        assert status == 201, body

        worker = token(base, "fieldworker", "her own passphrase")
        status, body, _ = call(base, "POST", "/api/processes/sample_intake/instances", {"data": {}}, worker)
        assert status == 201, body
        [task] = call(base, "GET", "/api/tasks?scope=claimable", token=worker)[1]["tasks"]
        assert call(base, "POST", f"/api/tasks/{task['id']}/claim", token=worker)[0] == 200
        status, body, _ = call(base, "POST", f"/api/tasks/{task['id']}/complete", {"data": SAMPLE_NEEDS}, worker)
        assert status == 200, body
        assert web.poll() is None and "Traceback" not in log.read_text()
    finally:
        stop(web)
    assert deploys(env["DATABASE_URL"]) == after_deploy  # the one deploy, done once, by the operator


def test_a_production_process_refuses_a_database_that_is_not_migrated_saying_what_to_run(production_env, tmp_path):
    env = production_env
    log = tmp_path / "gunicorn.log"
    web = start([str(BIN / "gunicorn"), "webui.wsgi:app", "--bind", f"127.0.0.1:{free_port()}", "--workers", "2",
                 "--no-control-socket"], env, log)
    try:
        assert web.wait(STARTUP_S) != 0
    finally:
        stop(web)
    said = log.read_text()
    assert "has no schema yet" in said and "python -m webui.cli migrate" in said

    worker_log = tmp_path / "worker.log"
    worker = start([str(BIN / "dramatiq"), "tasks.worker", "--processes", "1", "--threads", "1"], env, worker_log)
    try:
        assert worker.wait(STARTUP_S) != 0
    finally:
        stop(worker)
    assert "has no schema yet" in worker_log.read_text()
    assert tables(env["DATABASE_URL"]) == set()  # refused, not migrated behind the operator's back

    refused = operator(env, "deploy")
    assert refused.returncode == 2 and "has no schema yet" in refused.stderr
    engine = db.make_engine(env["DATABASE_URL"])
    try:
        cfg = db.alembic_config(env["DATABASE_URL"])
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0009")  # a database one upgrade behind this code
    finally:
        engine.dispose()
    assert "alembic_version" in tables(env["DATABASE_URL"]) and "teams" not in tables(env["DATABASE_URL"])
    refused = operator(env, "user", "list")
    assert refused.returncode == 2 and "is at migration 0009" in refused.stderr
    assert operator(env, "migrate").returncode == 0 and operator(env, "user", "list").returncode == 0


def test_python_m_webui_serves_through_waitress_embedded_and_stops_on_ctrl_c(tmp_path):
    port, log = free_port(), tmp_path / "embedded.log"
    env = {key: value for key, value in os.environ.items()
           if key not in (*UNSET, "APP_ENV", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update({"PORT": str(port), "INSTANCE_DIR": str(tmp_path / "instance"), "PYTHONUNBUFFERED": "1"})
    app = start([sys.executable, "-m", "webui"], env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: call(base, "GET", "/healthz")[0] == 200, "the embedded app", log)
        status, body, headers = call(base, "GET", "/healthz")
        assert headers["Server"] == "waitress" and body["worker"] == "in-process"
        assert token(base, "caseworker1", "demo")  # embedded: migrated, deployed and seeded by itself
        assert stop(app, signal.SIGINT) == 0  # Ctrl-C
    finally:
        stop(app, signal.SIGKILL)
    said = log.read_text()
    assert "stopped" in said and "Traceback" not in said
    assert call(base, "GET", "/healthz")[0] is None  # nobody listens any more
