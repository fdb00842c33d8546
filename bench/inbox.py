"""inbox: server time of the inbox page for a caseworker holding 5,000 of 100,000 tasks.

The human_tasks table is filled with bulk SQL: the caseworker's 5,000 ready tasks, and
95,000 others (held by other people, offered to roles the caseworker does not have, or
completed) spread over due dates, priorities and cases. The caseworker signs in through
the login form, then the inbox page (``/``: sorted by due time and priority, counts in
the navigation, first page of 50) is requested repeatedly in-process, so the time
measured is the server's alone. Prints one line:

    inbox: p50 X ms, p95 Y ms (5000 of 100000 tasks, postgres)

Target: p95 under 300 ms. PostgreSQL when reachable, else embedded SQLite.
"""
from __future__ import annotations

import argparse
import logging
import re
import statistics
import time
import uuid

from _support import postgres_url, sqlite_url, start_sample_intake
from sqlalchemy import func, insert, select, text, update

from engine import clock
from engine.models import HumanTask
from engine.settings import Settings

log = logging.getLogger("bench.inbox")
TOTAL, MINE = 100_000, 5_000
BATCH = 5_000
ROLES_NOT_MINE = ("supervisor", "committee_member", "crisis_team", "director")


def _rows(instance_id: int, ids: dict[str, int], now, total: int):
    """The 100,000 task rows: a deterministic spread of holders, states, dues, priorities."""
    import datetime as dt
    others = [ids[u] for u in ("caseworker2", "supervisor1", "director1", "committee1", "committee2")]
    for n in range(total):
        mine = n < MINE
        if mine:
            assignee, role, state = ids["caseworker1"], "caseworker", "ready"
        elif n % 3 == 0:
            assignee, role, state = None, ROLES_NOT_MINE[n % len(ROLES_NOT_MINE)], "ready"
        else:
            assignee, role = others[n % len(others)], "caseworker"
            state = "completed" if n % 2 else "ready"
        due = now + dt.timedelta(hours=(n * 7919) % 1440 - 360) if n % 10 else None
        yield {"id": str(uuid.UUID(int=n + 1)), "instance_id": instance_id, "case_code": f"CM-B{n % 9000:04d}-{n:06d}",
               "process_id": "case_management", "bpmn_id": "follow_up", "name": "follow_up",
               "title": "Follow up with the person", "role": role, "assignee_id": assignee, "state": state,
               "created_at": now - dt.timedelta(minutes=n % 5000), "due_at": due, "priority": 1 + n % 3,
               "risk_level": ("low", "medium", "high")[n % 3], "form": "case_follow_up.json"}


PG_FILL = """
INSERT INTO human_tasks (id, instance_id, case_code, process_id, bpmn_id, name, title, role, assignee_id, state,
                         created_at, due_at, priority, risk_level, form)
SELECT lpad(to_hex(n), 32, '0'), :instance_id, 'CM-B' || lpad((n % 9000)::text, 4, '0') || '-' || lpad(n::text, 6, '0'),
       'case_management', 'follow_up', 'follow_up', 'Follow up with the person',
       CASE WHEN n < :mine THEN 'caseworker' WHEN n % 3 = 0 THEN (CAST(:roles AS text[]))[1 + n % :nroles] ELSE 'caseworker' END,
       CASE WHEN n < :mine THEN :me WHEN n % 3 = 0 THEN NULL ELSE (CAST(:others AS integer[]))[1 + n % :nothers] END,
       CASE WHEN n >= :mine AND n % 3 <> 0 AND n % 2 = 1 THEN 'completed' ELSE 'ready' END,
       :now - make_interval(mins => n % 5000),
       CASE WHEN n % 10 = 0 THEN NULL ELSE :now + make_interval(hours => (n * 7919) % 1440 - 360) END,
       1 + n % 3, (ARRAY['low', 'medium', 'high'])[1 + n % 3], 'case_follow_up.json'
FROM generate_series(0, :total - 1) AS n
"""


def fill(app) -> None:
    """100,000 rows in bulk: one INSERT ... SELECT on PostgreSQL, batched executemany on SQLite."""
    ctx = app.extensions["engine_ctx"]
    instance_id, ids = start_sample_intake(app)
    with ctx.session_factory() as session:
        # the sample instance's own task counts towards the total and goes to someone else
        session.execute(update(HumanTask).values(assignee_id=ids["caseworker2"]))
        to_insert = TOTAL - (session.scalar(select(func.count(HumanTask.id))) or 0)
        others = [ids[u] for u in ("caseworker2", "supervisor1", "director1", "committee1", "committee2")]
        if session.bind.dialect.name == "postgresql":
            session.execute(text(PG_FILL),
                {"instance_id": instance_id, "mine": MINE, "total": to_insert, "me": ids["caseworker1"],
                 "roles": list(ROLES_NOT_MINE), "nroles": len(ROLES_NOT_MINE), "others": others,
                 "nothers": len(others), "now": clock.now()})
            session.commit()
            session.execute(text("ANALYZE human_tasks"))
        else:
            batch = []
            for row in _rows(instance_id, ids, clock.now(), to_insert):
                batch.append(row)
                if len(batch) == BATCH:
                    session.execute(insert(HumanTask), batch)
                    batch = []
            session.execute(insert(HumanTask), batch)
        session.commit()


def sign_in(app):
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    resp = client.post("/login", data={"username": "caseworker1", "password": "demo", "csrf_token": token})
    assert resp.status_code == 302, resp.status_code
    return client


def measure(url: str, backend: str, requests: int) -> str:
    from webui.app import create_app
    settings = Settings(database_url=url, demo=True, in_process_worker=False, secret_key="bench-inbox")
    app = create_app(settings, start_worker=False)
    try:
        filled = time.perf_counter()
        fill(app)
        log.info("filled human_tasks in %.1f s", time.perf_counter() - filled)
        client = sign_in(app)
        for _ in range(3):  # warm caches and the connection pool
            assert client.get("/").status_code == 200
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            resp = client.get("/")
            times.append((time.perf_counter() - started) * 1000)
            assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        shown = int(re.search(r'aria-label="(\d+) open"', html).group(1))
        assert shown == MINE, f"the inbox counted {shown} open tasks, not the caseworker's {MINE}"
        assert html.count("data-task-id=") == 50
        with app.extensions["engine_ctx"].session_factory() as session:
            total = session.scalar(text("SELECT count(*) FROM human_tasks"))
    finally:
        app.extensions["task_queue"].stop()
        app.extensions["engine_ctx"].engine.dispose()
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    return f"inbox: p50 {p50:.0f} ms, p95 {p95:.0f} ms ({MINE} of {total} tasks, {backend})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    log.setLevel(logging.INFO)
    with postgres_url("inbox") as url:
        if url is not None:
            print(measure(url, "postgres", args.requests))
            return 0
    with sqlite_url() as url:
        print(measure(url, "sqlite", args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
