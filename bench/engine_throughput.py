"""engine_throughput: persisted engine vs raw in-memory SpiffWorkflow, same machine, same run.

Each instance of the sample process is driven through its three human tasks and its
timer. "Persisted" goes through the engine services exactly as the API does — access
checks, form validation, restore from the database, sandboxed scripts, save, task/timer
rows, audit and outbox rows, commit — so every wait state is saved and reloaded. "Raw"
runs the same diagram with SpiffWorkflow alone, in memory, with its default script engine.
Prints one line per database: the ratio persisted/raw; the same ratio counting this process's
CPU time only ("cpu": on a machine whose disk is shared, the commits' fsync waits can dominate
the wall clock; PostgreSQL's server work is in another process and not in it); the Python
function calls per instance, persisted against raw (counted by cProfile in a run of its own:
the one figure the machine's load does not move); the SQL statements per instance; and the
"ceiling": the ratio if the engine cost nothing but its five durable commits (a start, three
completions and a timer are five transactions), from the cost of a minimal write transaction
(BEGIN, a one-row UPDATE, COMMIT) measured on the same database in the same run; and the
"bound": the ratio if each of the five transactions were the least a step's can be (read its
row's version, write the row back with a state of this run's size under it, insert one row,
commit) through the database driver alone, with no SQLAlchemy and no engine code at all. No
persisted engine that saves each wait state in its own transaction gets past the bound here.

Figures, 2026-12-03 11:40-12:46, four runs: sqlite ratio 0.11, 0.07, 0.08, 0.09 (bound 0.46,
0.37, 0.43, 0.57), postgres 0.05, 0.04, 0.04, 0.05 (a least step transaction 0.93, 0.79, 1.54,
0.93 ms: bound 0.30, 0.25, 0.20, 0.31). On PostgreSQL the bound is at or under the 0.3 of issue
16: its server shares the two cores, and each round trip costs 0.2-0.3 ms whatever the client
does.

The next human task comes from the step that made it (a new-task listener, as notifications
get it); the timer's id is read as the delayed message would carry it.

Figures, 2026-12-03 06:54-06:56, a 2-core VM whose host moved raw SpiffWorkflow between 320 and
650/s, before (a copy of ec61165) and after this stop's cuts, interleaved: sqlite 55, 34/s -> 40,
34/s (ratios 0.08, 0.10 -> 0.09, 0.09), postgres 23, 19/s -> 17, 21/s (0.04, 0.06 -> 0.04, 0.06);
calls per instance 24.9k -> 24.1k sqlite (2.9x -> 2.8x raw), 27.5k -> 26.6k postgres (3.2x ->
3.1x); statements unchanged (31.1, 26.1); a commit 0.46-1.70 ms, ceiling 0.22-0.52. The ceiling
is the point: with five durable commits an instance and raw SpiffWorkflow doing one in 1.5-3 ms,
the commits alone hold the ratio near 0.3.

Figures, 2026-12-02 14:45-15:17, quiet 2-core machine (load 0.4-1.1), both sides in a process whose
garbage collector is set as the services set theirs (``--python-gc``: Python's own settings): persisted
sqlite 73-102/s with it, 57-81/s without; postgres 34-37/s, 28/s; raw SpiffWorkflow moved as much
(631-1,021/s between runs), so the ratios stay 0.05-0.10 sqlite and 0.03-0.04 postgres (cpu
0.06-0.11, 0.05-0.07); calls per instance 2.9x (sqlite) and 3.2x (postgres) raw, 31.1 and 26.1
statements; a commit 0.34-0.60 ms, ceiling 0.26-0.42. The gap is Python on the persisted path,
spread thin: SQLAlchemy's execution and ORM work ~38 % of the time, the sqlite commit 9 %,
SpiffWorkflow 13 %, the engine's own code 11 %; no single site is above 10 % of a step.

Figures, 2026-12-02 02:27-02:40, 2-core machine (load 1.0-1.5), the code before from a copy of
the tree at 2969768, interleaved: before sqlite 42, 37/s, postgres 24, 20/s; after 46, 39, 40/s
and 23, 23, 24/s. Calls per instance (raw SpiffWorkflow as shipped: 8.5k): sqlite 28.8k -> 25.0k
(3.4x -> 2.9x raw), postgres 32.0k -> 27.6k (3.7x -> 3.2x); ratio after 0.12 sqlite, 0.07
postgres (cpu 0.13, 0.12). The cuts: the completion's and the claim's read ask whether the
person holds the task's role instead of loading them with every role; audit rows wait as plain
values, appended on the connection; one rollback listener for every unit of work; labelled
choices in forms checked by value; the starting version read as one row; PostgreSQL's pool
pings only connections idle for half a second; fewer SpiffWorkflow tree walks (its own
loggers' levels, the engine's walks for ready and waiting tasks: ``engine.bpmn.tree_walks``,
put back to SpiffWorkflow's own for the raw side here, which measures SpiffWorkflow as it
ships). Measured and left: psycopg's pipeline mode saves nothing on this machine (a local
round trip is ~0.1 ms; four UPDATEs and a COMMIT took 0.53 ms one by one and 0.57 ms
pipelined), and in a pipeline ``rowcount`` is unknown until a sync, so the version check
would need one anyway. On PostgreSQL half of the wall clock is waiting for the server (the
same two cores run it); the rest of the gap is SQLAlchemy's execution path (~230 calls a
statement, 31 statements an instance) and the state dump of every step.

Figures, 2026-12-01 23:10, quiet 2-core machine (load 0-1.6), before and after this stop's cuts,
the code before from a copy of the tree at 13dbea6, interleaved three times (medians; raw
SpiffWorkflow itself ran 283-449/s between runs, which is why the wall-clock ratios move):

    before: sqlite 28.5/s, postgres 16.2/s; ratios sqlite 0.073-0.096, postgres 0.041-0.057
    after:  sqlite 32.2/s, postgres 19.3/s; ratios sqlite 0.079-0.097, postgres 0.047-0.055
    calls per instance (raw 8.5k): sqlite 38.6k -> 28.8k (4.5x -> 3.4x raw),
                                   postgres 41.8k -> 32.0k (4.9x -> 3.7x raw)
    statements per instance: 31.1 sqlite, 26.1 postgres (unchanged: the writes moved from ORM
    flushes to prebuilt Core statements, one for one)
    a minimal write transaction: sqlite 0.6-1.1 ms, postgres 0.7-2.1 ms -> ceiling 0.3-0.5
    sqlite, 0.2-0.45 postgres

So on this machine the goal (0.3) is near or past what five durable commits allow at all, raw
SpiffWorkflow doing a whole instance in 2.2-3.5 ms. Where a step's time goes now (SQLite,
perf_counter per part, 30.9 ms per instance): commits 4.8 (fsync), SpiffWorkflow with the
sandboxed script engine ~3.3 (raw: 3-3.8 for everything; the sandbox ~0.2), the audit chain 2.6, the
completion's one read (user, roles, task, instance) 3.0, the writes 3.6, the session and
connection per transaction ~0.5 each. On PostgreSQL each round trip waits ~0.44 ms here
(``SELECT 1``: 0.2 ms), and every transaction has three besides its statements: the pool's
pre-ping, psycopg's BEGIN and the COMMIT.

Earlier figures, 2026-12-01 20:00: ratio 0.04 (persisted 46/s vs raw 1042/s, sqlite; cpu 0.05);
0.02 (21/s, postgres). Before that (load 5-17): sqlite 11/s -> 12/s, postgres 7/s -> 10/s;
statements per instance (with this script's own 4 reads then) 44 -> 39 sqlite, 43 -> 29
postgres; calls per instance 51.8k -> 44.2k sqlite, 57.3k -> 43.5k postgres.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import logging
import pstats
import time

from _support import postgres_url, sqlite_url
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from engine import clock
from engine.bpmn import spec_parsing, tree_walks
from engine.infra import bootstrap, db
from engine.infra.garbage_collection import tune_for_service
from engine.models import Timer, User
from engine.process import human_tasks, instances
from engine.settings import PROJECT_ROOT, Settings

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
NEEDS = {"red_needs": ["child_at_risk"], "yellow_needs": [], "summary": "bench"}
STEPS = [("record_needs", NEEDS), ("approve_plan", {"vote": "approve", "comment": ""}),
         ("follow_up", {"contact_made": True, "notes": ""})]


class Counts:
    """What one run costs that the machine's load does not change: Python function calls
    (counted by cProfile, so the run is slower) and SQL statements, per instance."""

    def __init__(self) -> None:
        self.calls = self.statements = 0.0
        self._profile = cProfile.Profile()
        self._statements = 0

    def _count(self, *_args: object) -> None:
        self._statements += 1

    def start(self, engine: Engine | None = None) -> None:
        if engine is not None:
            event.listen(engine, "before_cursor_execute", self._count)
        self._profile.enable()

    def stop(self, engine: Engine | None, n: int) -> None:
        self._profile.disable()
        if engine is not None:
            event.remove(engine, "before_cursor_execute", self._count)
        self.calls = pstats.Stats(self._profile).total_calls / n  # type: ignore[attr-defined]
        self.statements = self._statements / n


def commit_cost(url: str, n: int = 200) -> float:
    """Seconds one small durable commit takes on this machine (a one-row UPDATE and COMMIT)."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO bench_commit (id, n) VALUES (1, 0)"))
        conn.commit()
        started = time.perf_counter()
        for i in range(n):
            conn.execute(text("UPDATE bench_commit SET n = :n WHERE id = 1"), {"n": i})
            conn.commit()
        cost = (time.perf_counter() - started) / n
        conn.execute(text("DROP TABLE bench_commit"))
        conn.commit()
    engine.dispose()
    return cost


_FLOOR_SQL = {  # a step at its least: read the row's version, write the row back under it, add one row
    "sqlite": ("SELECT version FROM bench_floor WHERE id = 1",
               "UPDATE bench_floor SET state = ?, version = ? WHERE id = 1 AND version = ?",
               "INSERT INTO bench_floor_rows (n, note) VALUES (?, 'task')"),
    "postgresql": ("SELECT version FROM bench_floor WHERE id = 1",
                   "UPDATE bench_floor SET state = %s, version = %s WHERE id = 1 AND version = %s",
                   "INSERT INTO bench_floor_rows (n, note) VALUES (%s, 'task')"),
}


def floor_cost(url: str, n: int = 300) -> float:
    """Seconds the least a step's transaction can be takes here: through the database driver
    alone (no SQLAlchemy, no engine code), read one row's version, write the row back with a
    state as big as this run's instances' states under that version, insert one row, commit;
    on a connection set up as the engine's are (WAL, foreign keys). A real step does this and
    more (its audit row, the task it finished, its outbox), so five of these and raw
    SpiffWorkflow's time bound what any persisted engine of this design can reach here."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        size = int(conn.scalar(text("SELECT avg(length(state_json)) FROM process_instances")) or 0)
        conn.execute(text("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, state TEXT, version INTEGER)"))
        conn.execute(text("CREATE TABLE bench_floor_rows (id INTEGER PRIMARY KEY, n INTEGER, note TEXT)"
                          if engine.dialect.name == "sqlite" else
                          "CREATE TABLE bench_floor_rows (id SERIAL PRIMARY KEY, n INTEGER, note TEXT)"))
        conn.execute(text("INSERT INTO bench_floor (id, state, version) VALUES (1, '', 0)"))
        conn.commit()
    read, write, insert = _FLOOR_SQL[engine.dialect.name]
    state = "s" * size
    driver = engine.raw_connection()
    try:
        cursor = driver.cursor()
        started = time.perf_counter()
        for i in range(n):
            cursor.execute(read)
            (version,) = cursor.fetchone()
            cursor.execute(write, (state, version + 1, version))
            cursor.execute(insert, (i,))
            driver.commit()
        cost = (time.perf_counter() - started) / n
        cursor.close()
    finally:
        driver.close()
    with engine.connect() as conn:
        conn.execute(text("DROP TABLE bench_floor"))
        conn.execute(text("DROP TABLE bench_floor_rows"))
        conn.commit()
    engine.dispose()
    return cost


def raw_rate(n: int, counts: Counts | None = None) -> tuple[float, float]:
    """Raw SpiffWorkflow as it ships: the engine's faster walk for waiting tasks
    (``engine.bpmn.tree_walks``, installed on import) is put back for this side."""
    with tree_walks.stock_walks():
        return _raw_rate(n, counts)


def _raw_rate(n: int, counts: Counts | None) -> tuple[float, float]:
    bundle = spec_parsing.parse_bundle(spec_parsing.load_directory(PROJECT_ROOT / "workflows"))
    parsed = bundle.processes["sample_intake"]
    if counts is not None:
        counts.start()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
        wf.do_engine_steps()
        for bpmn_id, data in STEPS:
            if bpmn_id == "follow_up":
                for timer in wf.get_tasks(state=TaskState.WAITING):
                    timer.internal_data["event_fired"] = True
                wf.refresh_timers()
                wf.do_engine_steps()
            [task] = wf.get_tasks(state=TaskState.READY, manual=True)
            task.data.update(data)
            task.run()
            wf.do_engine_steps()
        assert wf.is_completed()
    rate, cpu_rate = n / (time.perf_counter() - started), n / (time.process_time() - cpu)
    if counts is not None:
        counts.stop(None, n)
    return rate, cpu_rate


def persisted_rate(url: str, n: int, counts: Counts | None = None) -> tuple[float, float]:
    settings = Settings(database_url=url, demo=True, in_process_worker=False, secret_key="bench")
    ctx = bootstrap.build(settings)
    bootstrap.deploy_and_seed(ctx)
    with ctx.session_factory() as s:
        ids = dict(s.execute(select(User.username, User.id)).all())
    who = {"record_needs": ids["caseworker1"], "approve_plan": ids["supervisor1"], "follow_up": ids["caseworker1"]}
    ready: dict[int, str] = {}  # instance id -> its new human task, as the step that made it tells its listeners
    ctx.runtime.new_task_listeners.append(lambda _uow, rows: ready.update((r.instance_id, r.id) for r in rows))
    clock.freeze(T0)
    if counts is not None:
        counts.start(ctx.engine)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        clock.freeze(T0)
        with ctx.uow() as uow:
            instance_id = instances.start_process(uow, ctx.runtime, "sample_intake", ids["caseworker1"], {}).id
            uow.commit()
        for bpmn_id, data in STEPS:
            if bpmn_id == "follow_up":
                clock.freeze(T0 + dt.timedelta(hours=2))
                with ctx.session_factory() as s:  # the id a timer's delayed message carries
                    timer_id = s.scalar(select(Timer.id).where(Timer.instance_id == instance_id))
                with ctx.uow() as uow:
                    assert instances.fire_timer(uow, ctx.runtime, timer_id)
            with ctx.uow() as uow:
                human_tasks.complete_task(uow, ctx.runtime, who[bpmn_id], ready.pop(instance_id), data)
    rate, cpu_rate = n / (time.perf_counter() - started), n / (time.process_time() - cpu)
    if counts is not None:
        counts.stop(ctx.engine, n)
    clock.freeze(None)
    ctx.engine.dispose()
    return rate, cpu_rate


COMMITS = 5  # per instance: its start, three completions and one timer, each its own transaction
COUNTED = 20  # instances of the counted runs


def _line(kind: str, url: str, raw: float, raw_cpu: float, raw_counts: Counts, n: int) -> str:
    rate, cpu = persisted_rate(url, n)
    counts = Counts()
    persisted_rate(url, COUNTED, counts)
    commit = commit_cost(url)
    floor = floor_cost(url)
    ceiling = (1 / raw) / (1 / raw + COMMITS * commit)  # the ratio if the engine cost nothing but its commits
    bound = (1 / raw) / (1 / raw + COMMITS * floor)  # ... nothing but five least transactions
    return (f"ratio {rate / raw:.2f} (persisted {rate:.0f}/s vs raw {raw:.0f}/s, {kind}; cpu {cpu / raw_cpu:.2f}; "
            f"calls {counts.calls / raw_counts.calls:.1f}x raw ({counts.calls:.0f} vs {raw_counts.calls:.0f} "
            f"per instance); {counts.statements:.1f} statements and {COMMITS} commits per instance, a commit "
            f"{commit * 1000:.2f} ms here: ceiling {ceiling:.2f}; a least step transaction through the driver "
            f"{floor * 1000:.2f} ms: bound {bound:.2f})")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="instances per measurement")
    parser.add_argument("--python-gc", action="store_true",
                        help="keep Python's own garbage-collector settings (not a service process's)")
    args = parser.parse_args()
    raw_rate(20)  # warm caches and imports
    if not args.python_gc:  # both sides in a process set as the services set theirs
        tune_for_service(Settings.from_env({}))
    raw, raw_cpu = raw_rate(args.n)
    raw_counts = Counts()
    raw_rate(COUNTED, raw_counts)
    parts = []
    with sqlite_url() as url:
        parts.append(_line("sqlite", url, raw, raw_cpu, raw_counts, args.n))
    with postgres_url("engine_throughput") as url:
        parts.append("postgres unreachable" if url is None
                     else _line("postgres", url, raw, raw_cpu, raw_counts, args.n))
    print("engine_throughput: " + "; ".join(parts) + f" [{args.n} instances x 3 human tasks + 1 timer]")


if __name__ == "__main__":
    main()
