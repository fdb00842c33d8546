"""queue_throughput: instances advanced per second by 1, 2 and 4 workers.

On PostgreSQL + Redis with the topology of docker/prodctl.py: for each worker count, M
instances (default 300) wait on follow-up timers that all fall due at one instant; the
rate is M over the time from that instant until the last timer was claimed. Each worker
is one `dramatiq tasks.worker` process with 2 threads. Prints

    queue_throughput: 1 worker 40/s, 2 workers 66/s, 4 workers 70/s (scaling 2w/1w 1.65, 4w/1w 1.75, postgres+redis)

On a 2-core machine the processes share two cores, so scaling flattens past 2 workers.
Falls back to SQLite and in-process worker threads (saying so) when PostgreSQL or Redis
is unreachable. QUEUE_THROUGHPUT_M tunes M.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from queue_support.topology import BenchRun

WORKER_COUNTS = (1, 2, 4)
THREADS = 2


def advanced_per_second(run: BenchRun, workers: int, m: int) -> float:
    run.set_workers(workers)
    lead = max(5.0, 2.5 * run.time_one_start() * m + 3)
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead)
    ids = run.start_instances([due] * m)
    rows = run.wait_fired(ids, timeout_s=lead + 300)
    last = max(fired for _, fired in rows)
    return m / max((last - due).total_seconds(), 1e-3)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    m = int(os.environ.get("QUEUE_THROUGHPUT_M", "300"))
    run = BenchRun(workers=max(WORKER_COUNTS), threads=THREADS)
    try:
        rates = {w: advanced_per_second(run, w, m) for w in WORKER_COUNTS}
    finally:
        run.close()
    one = rates[1]
    print(f"queue_throughput: 1 worker {rates[1]:.0f}/s, 2 workers {rates[2]:.0f}/s, 4 workers {rates[4]:.0f}/s "
          f"(scaling 2w/1w {rates[2] / one:.2f}, 4w/1w {rates[4] / one:.2f}, {run.label})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
