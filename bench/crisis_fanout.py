"""crisis_fanout: seconds from a disruption declared over 10,000 open cases until every
affected case has its crisis-check task (R37), with two real dramatiq workers.

Seeds (bulk inserts) the demo users, 400 caseworkers under 20 supervisors (5 % of them
unavailable, so their cases go to backup staff) and 10,000 open cases with mixed risk
levels, stages and in-crisis flags; declares a disruption of every CBF-5 sub-function
through the same service ``POST /api/crises`` calls; and polls until 10,000 ready
``crisis_check`` tasks exist. The clock starts before the declaration (so it includes the
BCP instance, the planning job and every batch job) and the workers are up before it.

On PostgreSQL + Redis (``BENCH_POSTGRES_ADMIN_URL``, ``BENCH_REDIS_URL``) the workers are
``dramatiq tasks.worker`` subprocesses with a Redis namespace of their own; when either
is unreachable it falls back to SQLite and the in-process stub-broker worker, and says so.

Figures, 2026-12-01, 10,000 cases, 2 workers, postgres+redis, load average 6-8 on 2 cores:
22.9 s with the tree of 15:53 UTC; 35.3 s with the tree of 16:25 without the issue-16 engine
changes and 35.7 s with them (so those are neutral here; the 12 s came with changes made
between the two, e.g. the new human-task indexes, not yet looked at).

Figures, 2026-12-02 01:44-02:15 UTC, 10,000 cases, 2 workers x 2 threads, postgres+redis, the
tree before (``git archive HEAD``) and after this stop's fan-out changes run back to back
(other benchmarks share the 2 cores and the PostgreSQL server): at load average 2-3.6, before
22.9, 22.5, 18.9, 24.9 s, after 15.1, 18.3, 17.5, 18.5 s; at load 0.8-2.1, with the last
change (``tree_walks``), before 16.8, 17.0 s, after 11.3, 14.1 s. The workers' CPU during the
fan-out (``ps``, both processes): 21 s before, 16 s after. Every batch in turn in one process
(2,000 cases, unprofiled): 2.3-2.4 ms a case before, 1.6-1.9 ms after.
In one process (every batch in turn, 1,000-2,000 cases): 3,800 Python calls a case before,
2,810 after at 50 checks a batch, 2,800 at 100; on PostgreSQL 161 statement executions a batch
of 50 before (3 executemanys of a row each: the instances, their task rows, the checks'
instance ids), 13-14 a batch of any size after. What changed:

* ``CRISIS_CHECK_BATCH`` 50 -> 100: a batch has a cost of its own (its job, its dozen
  statements, its turn at the audit chain's head); same tree, batch of 50: 19.7-21.6 s, of
  100: 14.4-15.5 s, of 200: 15.4 s;
* the instances written by one INSERT, not an ORM flush (``instance_rows.insert_started``),
  and on PostgreSQL the instances, the task rows, the checks' instance ids and the planned
  checks each by one statement with the rows as one JSON parameter (``engine.models.bulk_rows``):
  psycopg's executemany cost ~40 us of client time a row, insertmanyvalues more (one long
  statement parsed anew each time), arrays more still (psycopg escapes each text element);
* the claim returns what the starts need (no read of the checks after it, no ORM rows);
* SpiffWorkflow's tree walks: one per new workflow to collect log details nobody logs
  (``logs.configure`` sets the level of its own loggers), one to fill the ready tasks' data
  (the task maps instead), each pass of ``do_engine_steps`` (``runtime._run_engine_tasks``:
  the same loop, the same tasks in the same order, found without the iterator) and the
  search for waiting tasks after each completed task (``engine.bpmn.tree_walks``, likewise).

Figures, 2026-12-02 14:40-15:17 UTC, quiet 2-core machine (load 0.4-2), 10,000 cases, 2 workers x 2
threads, postgres+redis, the tree before (14873a4, ``git archive``) and after run back to back:
before 11.0, 11.5, 10.9, 10.8 s; with the audit chain's rows as one JSON parameter only 9.4, 10.9 s;
with the workers' garbage collector set for a service as well (``engine.infra.garbage_collection``:
what a booted worker holds frozen out of the collector's passes, young passes every 10,000
allocations) 7.3, 7.0, 6.8 s. In one process (2,000 cases, every batch in turn): 1.61-1.68 ms a
case before, 1.37-1.56 with the audit change, 0.84-0.98 with the collector set too (a full pass
over the process took ~0.17 s and came every thousand cases).

Left: about half of a case's time in the workers is SpiffWorkflow (building the workflow and
its predictions, running two tasks, the state dump), a tenth the audit chain's two rows; a
start event's reset still walks its subtree with SpiffWorkflow's iterator (~3 %).
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from _support import REDIS_URL, postgres_url, redis_reachable, sqlite_url
from sqlalchemy import func, insert, select

from engine.crisis import declaration as crisis
from engine.infra import bootstrap
from engine.models import Case, HumanTask, Supervision, User, UserRole
from engine.people.accounts import hash_password
from engine.settings import PROJECT_ROOT, Settings
from tasks.queue import make_task_queue
from tasks.settings import QueueSettings

CASEWORKERS = 400
SUPERVISORS = 20
UNAVAILABLE_SHARE = 0.05
OPEN_STAGES = ("screening", "emergency", "admission", "intake", "assessment", "planning", "implementation",
               "review", "closure", "post_closure")
RISKS = ("high",) * 2 + ("medium",) * 4 + ("low",) * 3 + (None,)
log = logging.getLogger("bench.crisis_fanout")


def seed(ctx, cases: int, rng: random.Random) -> None:
    """Demo users, staff and cases, by bulk insert."""
    bootstrap.deploy_and_seed(ctx)
    password = hash_password("bench")
    with ctx.session_factory() as session:
        next_id = (session.scalar(select(func.max(User.id))) or 0) + 1
        supervisors = list(range(next_id, next_id + SUPERVISORS))
        workers = list(range(next_id + SUPERVISORS, next_id + SUPERVISORS + CASEWORKERS))
        unavailable = set(rng.sample(workers, int(CASEWORKERS * UNAVAILABLE_SHARE)))
        session.execute(insert(User), [
            {"id": uid, "username": f"bench_user_{uid}", "display_name": f"Bench {uid}", "password_hash": password,
             "active": True, "available": uid not in unavailable, "failed_logins": 0,
             "created_at": dt.datetime.now(dt.UTC)} for uid in supervisors + workers])
        session.execute(insert(UserRole), [{"user_id": u, "role": "supervisor"} for u in supervisors]
                        + [{"user_id": u, "role": "caseworker"} for u in workers])
        session.execute(insert(Supervision), [{"supervisor_id": supervisors[i % SUPERVISORS], "supervisee_id": u}
                                              for i, u in enumerate(workers)])
        now = dt.datetime.now(dt.UTC)
        rows = []
        for i in range(cases):
            worker = workers[i % CASEWORKERS]
            rows.append({"code": f"BENCH-{i:06d}", "status": "O", "stage": rng.choice(OPEN_STAGES),
                         "risk_level": rng.choice(RISKS), "risk_needs_judgement": False,
                         "in_crisis": rng.random() < 0.05, "caseworker_id": worker,
                         "supervisor_id": supervisors[(i % CASEWORKERS) % SUPERVISORS], "primary_concern": "",
                         "referral_source": "bench", "confidential_notes": "",
                         "date_next_contact": now + dt.timedelta(hours=rng.randint(-48, 240)),
                         "created_at": now, "updated_at": now})
        session.execute(insert(Case), rows)
        session.commit()


def ready_checks(ctx) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(func.count()).where(HumanTask.process_id == crisis.CHECK_PROCESS,
                                                         HumanTask.bpmn_id == "crisis_check",
                                                         HumanTask.state == "ready"))


def declare(ctx) -> int:
    with ctx.session_factory() as session:
        lead = session.scalar(select(User.id).where(User.username == "crisislead1"))
    with ctx.uow() as uow:
        record = crisis.declare_crisis(uow, ctx.runtime, lead, "natural_disaster", "Flood: office closed (bench)",
                                       ["5.1", "5.2", "5.3", "5.4", "5.5", "5.6"])
        uow.commit()
        return record.id


def wait_for(ctx, cases: int, timeout_s: float) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if ready_checks(ctx) >= cases:
            return time.perf_counter() - started
        time.sleep(0.25)
    return None


def start_workers(database_url: str, redis_url: str, namespace: str, workers: int, threads: int) -> list:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_NAMESPACE": namespace,
           "DEPLOY_ON_START": "0", "PYTHONPATH": str(PROJECT_ROOT)}
    procs = []
    for _ in range(workers):
        proc = subprocess.Popen([sys.executable, "-m", "dramatiq", "tasks.worker", "--processes", "1",
                                 "--threads", str(threads)], cwd=PROJECT_ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
    for proc in procs:
        _wait_ready(proc)
    return procs


def _wait_ready(proc, timeout_s: float = 60) -> None:
    """Block until the worker logs that it is ready; keep draining its stderr after."""
    ready = threading.Event()

    def drain():
        for line in proc.stderr:
            if "ready for action" in line.lower():
                ready.set()
            if " ERROR " in line or "Traceback" in line:
                log.warning("worker %s: %s", proc.pid, line.rstrip())
    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(timeout_s):
        raise RuntimeError(f"worker {proc.pid} did not start within {timeout_s:.0f} s")


def stop_workers(procs) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_postgres_redis(args, database_url: str) -> tuple[float | None, str]:
    settings = Settings(database_url=database_url, redis_url=REDIS_URL, demo=True, in_process_worker=False,
                        instance_dir=Path("/tmp/crisis_fanout_bench"))
    ctx = bootstrap.build(settings)
    seed(ctx, args.cases, random.Random(7))
    namespace = f"crisis_fanout_{os.getpid()}"
    queue = make_task_queue(ctx, queue_settings=QueueSettings.from_env(redis_namespace=namespace))
    procs = start_workers(database_url, REDIS_URL, namespace, args.workers, args.threads)
    try:
        declare(ctx)
        elapsed = wait_for(ctx, args.cases, args.timeout)
    finally:
        stop_workers(procs)
        queue.stop()
        ctx.engine.dispose()
    return elapsed, "postgres+redis"


def run_embedded(args, database_url: str) -> tuple[float | None, str]:
    settings = Settings(database_url=database_url, redis_url=None, demo=True, in_process_worker=True,
                        instance_dir=Path("/tmp/crisis_fanout_bench"))
    ctx = bootstrap.build(settings)
    seed(ctx, args.cases, random.Random(7))
    queue = make_task_queue(ctx)
    queue.start_worker(threads=args.workers, periodic=False)
    try:
        declare(ctx)
        elapsed = wait_for(ctx, args.cases, args.timeout)
    finally:
        queue.stop()
        ctx.engine.dispose()
    return elapsed, "sqlite+stub broker, embedded: PostgreSQL or Redis unreachable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="threads per worker process")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with postgres_url("crisis_fanout") as pg:
        if pg is not None and redis_reachable():
            elapsed, where = run_postgres_redis(args, pg)
        else:
            with sqlite_url() as lite:
                elapsed, where = run_embedded(args, lite)
    figure = f"{elapsed:.1f} s" if elapsed is not None else f"not done after {args.timeout:.0f} s"
    print(f"crisis_fanout: {figure} until every affected case has its check task "
          f"({args.cases} cases, {args.workers} workers, {where})")


if __name__ == "__main__":
    main()
