"""The production topology, started once per test module by docker/prodctl.py (the
script behind `make prod-up`) against real PostgreSQL and a Redis of its own:

- a fresh database named per process and module;
- a private ``redis-server`` on a free port, so a test may kill and restart it (what a
  Redis restart does to a deployment) without touching anyone else's queues;
- gunicorn on a free port, two dramatiq workers, the periodiq sweeper, and the supervisor
  that restarts any of them that dies.

A test module may set ``TOPOLOGY_ENV`` (a dict) to change the environment of its
topology: shorter sweep, visibility and heartbeat intervals, the real workflows.

The test diagrams of tests/tasks/workflows are deployed (WORKFLOWS_DIR), demo users
seeded (DEMO=1). Skipped when PostgreSQL or redis-server is missing, failed instead
under REQUIRE_SERVICES=1.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from engine.infra import bootstrap
from engine.settings import PROJECT_ROOT, Settings
from tests.conftest import PG_ADMIN_URL, _unavailable
from tests.tasks.conftest import TASK_WORKFLOWS, free_port

PRODCTL = PROJECT_ROOT / "docker" / "prodctl.py"


class PrivateRedis:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=(self.workdir / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                client.close()

    def kill(self) -> None:
        """kill -9: nothing is saved (no RDB, no AOF), so a restart comes back empty."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class Topology:
    def __init__(self, run_dir: Path, env: dict[str, str], redis_server: PrivateRedis):
        self.run_dir = run_dir
        self.env = env
        self.redis = redis_server
        self.base_url = f"http://127.0.0.1:{env['PORT']}"
        self.ctx = bootstrap.build(Settings(database_url=env["DATABASE_URL"], secret_key="unused", demo=False,
                                            workflows_dir=TASK_WORKFLOWS, in_process_worker=False,
                                            deploy_on_start=False), migrate=False)
        self._tokens: dict[str, str] = {}

    # -- the script ------------------------------------------------------------
    def prodctl(self, *args: str) -> None:
        result = subprocess.run([sys.executable, str(PRODCTL), *args, "--run-dir", str(self.run_dir)],
                                env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"prodctl {' '.join(args)} failed:\n{result.stderr}\n{self.logs()}")

    def pid(self, name: str) -> int:
        return int((self.run_dir / "pids" / f"{name}.pid").read_text())

    def logs(self, tail: int = 40) -> str:
        parts = []
        for log in sorted((self.run_dir / "logs").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"==> {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    # -- the API -------------------------------------------------------------------
    def call(self, method: str, path: str, body: dict | None = None, user: str | None = None) -> tuple[int, dict]:
        status, answer, _ = self.request(method, path, body, user)
        return status, answer

    def request(self, method: str, path: str, body: dict | None = None, user: str | None = None,
                headers: dict | None = None, timeout: float = 30) -> tuple[int, dict, dict]:
        """(status, JSON body, response headers)."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if user:
            sent["Authorization"] = f"Bearer {self.token(user)}"
        request = urllib.request.Request(self.base_url + path, method=method, headers=sent,
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _parsed(response.read()), dict(response.headers)
        except urllib.error.HTTPError as err:
            return err.code, _parsed(err.read()), dict(err.headers)

    def token(self, username: str) -> str:
        if username not in self._tokens:
            status, body = self.call("POST", "/api/auth/token", {"username": username, "password": "demo"})
            assert status == 200, body
            self._tokens[username] = body["access_token"]
        return self._tokens[username]

    def start_instance(self, process_id: str, data: dict, user: str = "caseworker1") -> int:
        status, body = self.call("POST", f"/api/processes/{process_id}/instances", {"data": data}, user)
        assert status == 201, body
        return body["id"]

    def wait_for(self, condition, timeout_s: float, what: str) -> None:
        """Poll ``condition()`` until true; fail with the processes' logs after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{self.logs()}")
            time.sleep(0.1)


# Modules whose promises are time limits for an idle machine (answers within 2 s during an
# attack, every check within 10 s of a declaration, timers on time after a restart): `make test`
# runs them after the parallel part of the suite, one at a time, so the other half of the suite
# does not take the core these limits were set for (marker ``alone``).
TIMED_MODULES = {"test_bystanders.py", "test_production_faults.py", "test_supervision.py", "test_crash_safety.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in TIMED_MODULES and item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.alone)


def host_load() -> float:
    """How much busier than idle the host is now (1.0: no more runnable processes than cores).
    The topology tests' time limits are for an idle host; on a shared one (the suites of
    several people at once) they are stretched by this ratio, which their figures show."""
    return min(8.0, max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1)))


def _parsed(body: bytes) -> dict:
    """A JSON answer, or (an answer from outside the app, e.g. gunicorn's own) its text."""
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {"text": body[:500].decode(errors="replace")}


def _require_services() -> None:
    try:
        admin = create_engine(PG_ADMIN_URL)
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
        admin.dispose()
    except OperationalError as err:
        _unavailable("PostgreSQL", str(err).splitlines()[0])
    if shutil.which("redis-server") is None:
        _unavailable("redis-server", "the binary is not on PATH (the topology tests run a private Redis)")


@pytest.fixture(scope="module")
def topology(request, tmp_path_factory):
    _require_services()
    workdir = tmp_path_factory.mktemp("topology")
    redis_server = PrivateRedis(workdir)
    redis_server.start()
    module = request.module.__name__.rsplit(".", 1)[-1][:20]
    database = f"casework_it_{os.getpid()}_{module}"
    env = {**os.environ,
           "DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database,
           "REDIS_URL": redis_server.url, "PORT": str(free_port()), "HOST": "127.0.0.1",
           "WORKERS": "2", "WORKER_THREADS": "2", "WEB_WORKERS": "2", "DEMO": "1",
           "WORKFLOWS_DIR": str(TASK_WORKFLOWS), "SECRET_KEY": "integration-test-secret",
           "QUEUE_MIN_BACKOFF_MS": "100", "QUEUE_MAX_BACKOFF_MS": "2000", "STOP_GRACE": "10",
           "WORKER_SHUTDOWN_TIMEOUT_MS": "8000",
           # a module may shorten the sweep and visibility intervals (or set anything else)
           **getattr(request.module, "TOPOLOGY_ENV", {})}
    topo = Topology(workdir / "run", env, redis_server)
    try:
        topo.prodctl("up")
    except AssertionError:
        topo.prodctl("down", "--drop-db")
        redis_server.kill()
        raise
    yield topo
    topo.ctx.engine.dispose()
    topo.prodctl("down", "--drop-db")
    redis_server.kill()
