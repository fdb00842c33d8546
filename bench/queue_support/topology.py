"""What bench/timer_lag.py and bench/queue_throughput.py share: a place to run.

On PostgreSQL + Redis (when both answer) the production topology is started by
docker/prodctl.py (gunicorn, dramatiq workers, periodiq) on a throw-away database and a
private Redis key namespace; the benchmark process itself only creates instances (through
the engine services, relayed to Redis after each commit) and reads the timers table.
Otherwise it falls back to the embedded mode: SQLite and the in-process worker.

Settings (environment): BENCH_POSTGRES_URL (an admin URL on the server, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default
REDIS_URL or redis://127.0.0.1:6379/0).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from engine.infra import bootstrap  # noqa: E402
from engine.models import Timer  # noqa: E402
from engine.process import instances  # noqa: E402
from engine.settings import Settings  # noqa: E402
from tasks.queue import make_task_queue  # noqa: E402
from tasks.settings import QueueSettings  # noqa: E402

BENCH_WORKFLOWS = ROOT / "bench" / "workflows"
PRODCTL = ROOT / "docker" / "prodctl.py"
PROCESS_ID = "bench_timer"
log = logging.getLogger("bench")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def services() -> tuple[str, str, str | None]:
    """(postgres admin URL, redis URL, why not reachable or None)."""
    pg = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    rd = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    pg_at = make_url(pg)
    try:
        engine = create_engine(pg)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError:
        return pg, rd, f"PostgreSQL unreachable at {pg_at.host}:{pg_at.port or 5432}"
    client = redis.Redis.from_url(rd)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        return pg, rd, f"Redis unreachable at {rd.split('@')[-1]}"
    finally:
        client.close()
    return pg, rd, None


@dataclass
class Topology:
    run_dir: Path
    env: dict
    running: set = field(default_factory=set)

    def prodctl(self, *args: str) -> None:
        result = subprocess.run([sys.executable, str(PRODCTL), *args, "--run-dir", str(self.run_dir)],
                                env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"prodctl {' '.join(args)} failed: {result.stderr.strip()}")

    def set_workers(self, n: int) -> None:
        """Exactly worker-1..worker-n running."""
        for k in range(1, int(self.env["WORKERS"]) + 1):
            name = f"worker-{k}"
            if k <= n and name not in self.running:
                self.prodctl("start", name)
                self.running.add(name)
            elif k > n and name in self.running:
                self.prodctl("stop", name)
                self.running.discard(name)


class BenchRun:
    """Where a benchmark runs; ``label`` says which (printed at the end of the line)."""

    def __init__(self, workers: int, threads: int):
        self.workers = workers
        self.threads = threads
        self.topology: Topology | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="casework-bench-")
        pg, rd, why = services()
        if why is None:
            self._open_topology(pg, rd)
            self.label = "postgres+redis"
        else:
            self._open_embedded()
            self.label = f"sqlite embedded, in-process worker threads; {why}"

    # -- set-up --------------------------------------------------------------------
    def _open_topology(self, pg_admin: str, redis_url: str) -> None:
        database = f"casework_bench_{os.getpid()}"
        self.namespace = f"casework-bench-{os.getpid()}"
        self.redis_url = redis_url
        env = {**os.environ,
               "DATABASE_URL": pg_admin.rsplit("/", 1)[0] + "/" + database, "REDIS_URL": redis_url,
               "REDIS_NAMESPACE": self.namespace, "PORT": str(_free_port()), "HOST": "127.0.0.1",
               "WORKERS": str(self.workers), "WORKER_THREADS": str(self.threads), "WEB_WORKERS": "1",
               "DEMO": "0", "WORKFLOWS_DIR": str(BENCH_WORKFLOWS), "SECRET_KEY": secrets.token_hex(16)}
        self.topology = Topology(Path(self._tmp.name) / "run", env)
        self.topology.prodctl("up")
        self.topology.running = {f"worker-{k}" for k in range(1, self.workers + 1)}
        settings = Settings(database_url=env["DATABASE_URL"], redis_url=redis_url, secret_key="bench", demo=False,
                            workflows_dir=BENCH_WORKFLOWS, in_process_worker=False, deploy_on_start=False)
        self.ctx = bootstrap.build(settings, migrate=False)
        self.queue = make_task_queue(self.ctx, queue_settings=QueueSettings(redis_namespace=self.namespace))

    def _open_embedded(self) -> None:
        settings = Settings(database_url=f"sqlite:///{self._tmp.name}/bench.db", instance_dir=Path(self._tmp.name),
                            workflows_dir=BENCH_WORKFLOWS, secret_key="bench", demo=False, in_process_worker=False)
        self.ctx = bootstrap.build(settings)
        bootstrap.deploy_and_seed(self.ctx)
        self.queue = make_task_queue(self.ctx, queue_settings=QueueSettings())
        self.queue.start_worker(threads=self.threads * self.workers, periodic=False)

    def set_workers(self, n: int) -> None:
        """``n`` worker processes (topology) or ``n`` x threads worker threads (embedded)."""
        if self.topology is not None:
            self.topology.set_workers(n)
            return
        self.queue.stop()
        self.ctx.after_commit.remove(self.queue.relay.relay_committed)
        self.queue = make_task_queue(self.ctx, queue_settings=QueueSettings())
        self.queue.start_worker(threads=self.threads * n, periodic=False)

    def close(self) -> None:
        try:
            if self.topology is not None:
                self.queue.broker.close()
                self.ctx.engine.dispose()
                self.topology.prodctl("down", "--drop-db")
                client = redis.Redis.from_url(self.redis_url)
                for key in client.scan_iter(f"{self.namespace}:*"):
                    client.delete(key)
                client.close()
            else:
                self.queue.stop()
                self.ctx.engine.dispose()
        finally:
            self._tmp.cleanup()

    # -- work -------------------------------------------------------------------------
    def start_instances(self, fire_times: list[dt.datetime], batch: int = 50) -> list[int]:
        """One bench_timer instance per fire time; committed (and relayed) per batch."""
        ids = []
        for i in range(0, len(fire_times), batch):
            with self.ctx.uow() as uow:
                for fire_at in fire_times[i:i + batch]:
                    ids.append(instances.start_process(uow, self.ctx.runtime, PROCESS_ID, None,
                                                       {"fire_at": fire_at.isoformat()}).id)
                uow.commit()
        return ids

    def time_one_start(self, samples: int = 20) -> float:
        """Seconds one start takes here (measured in a transaction that is rolled back)."""
        far = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        began = time.perf_counter()
        with self.ctx.uow() as uow:
            for _ in range(samples):
                instances.start_process(uow, self.ctx.runtime, PROCESS_ID, None, {"fire_at": far.isoformat()})
        return (time.perf_counter() - began) / samples

    def timers(self, instance_ids: list[int]) -> list[tuple[dt.datetime, dt.datetime | None]]:
        with self.ctx.session_factory() as s:
            rows = s.execute(select(Timer.due_at, Timer.fired_at).where(Timer.instance_id.in_(instance_ids)))
            return [(due, fired) for due, fired in rows]

    def wait_fired(self, instance_ids: list[int], timeout_s: float) -> list[tuple[dt.datetime, dt.datetime]]:
        """Poll until every timer of these instances fired (or the deadline passed)."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = self.timers(instance_ids)
            if rows and all(fired is not None for _, fired in rows):
                return rows
            if time.monotonic() > deadline:
                missing = sum(1 for _, fired in rows if fired is None)
                raise RuntimeError(f"{missing} of {len(rows)} timers had not fired after {timeout_s:.0f} s")
            time.sleep(0.25)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]
