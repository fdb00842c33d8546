"""case_life: the cost of a step stays flat over a case's life.

One case runs through N follow-ups and their reviews (default 200 of each), each a short
instance of ``bench_case_cycle`` (bench/workflows) started for the case, as the product runs
them (``case_follow_up``, ``case_review``). Every completion goes through the engine services
exactly as the API does (access, form, step, task rows, audit, outbox, commit), on a case whose
task rows and audit trail grow with every cycle. Prints one line, the median completion of the
last 10 cycles against the first 10, per database:

    case_life: ratio 1.02 last/first (first 6.1 ms, last 6.2 ms, 200 follow-ups + 200 reviews, sqlite); ...

Target: ratio <= 1.5. CASE_LIFE_N sets the number of cycles.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import statistics
import time

from _support import postgres_url, sqlite_url
from sqlalchemy import select

from engine import clock
from engine.infra import bootstrap
from engine.models import Case, HumanTask, User
from engine.process import human_tasks, instances
from engine.settings import PROJECT_ROOT, Settings

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
BENCH_WORKFLOWS = PROJECT_ROOT / "bench" / "workflows"
WINDOW = 10


def _case(ctx, caseworker: int) -> str:
    code = "CM-2026-0001"
    with ctx.uow() as uow:
        uow.session.add(Case(code=code, caseworker_id=caseworker, risk_level="medium", date_intake=T0))
        uow.commit()
    return code


def life(url: str, cycles: int) -> tuple[float, float]:
    settings = Settings(database_url=url, demo=True, in_process_worker=False, secret_key="bench",
                        workflows_dir=BENCH_WORKFLOWS)
    ctx = bootstrap.build(settings)
    bootstrap.deploy_and_seed(ctx)
    with ctx.session_factory() as s:
        ids = dict(s.execute(select(User.username, User.id)).all())
    clock.freeze(T0)
    code = _case(ctx, ids["caseworker1"])
    costs: list[float] = []  # seconds per completion, in order
    for n in range(cycles):
        clock.freeze(T0 + dt.timedelta(hours=n))
        with ctx.uow() as uow:
            instance_id = instances.start_process(uow, ctx.runtime, "bench_case_cycle", ids["caseworker1"],
                                                  {"case_code": code}, case_code=code).id
            uow.commit()
        for username in ("caseworker1", "supervisor1"):
            with ctx.session_factory() as s:
                task_id = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                              HumanTask.state == "ready"))
            started = time.perf_counter()
            with ctx.uow() as uow:
                human_tasks.complete_task(uow, ctx.runtime, ids[username], task_id, {"contact_made": True})
            costs.append(time.perf_counter() - started)
    clock.freeze(None)
    ctx.engine.dispose()
    first = statistics.median(costs[:2 * WINDOW])
    last = statistics.median(costs[-2 * WINDOW:])
    return first, last


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    cycles = int(os.environ.get("CASE_LIFE_N", "200"))
    parts = []
    for name, opener in (("sqlite", sqlite_url), ("postgres", lambda: postgres_url("case_life"))):
        with opener() as url:
            if url is None:
                parts.append(f"{name} unreachable")
                continue
            first, last = life(url, cycles)
            parts.append(f"ratio {last / first:.2f} last/first (first {first * 1000:.1f} ms, "
                         f"last {last * 1000:.1f} ms, {cycles} follow-ups + {cycles} reviews, {name})")
    print("case_life: " + "; ".join(parts))


if __name__ == "__main__":
    main()
