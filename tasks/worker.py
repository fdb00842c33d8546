"""Entry point for real workers, settings from the environment:

    dramatiq tasks.worker      # workers (add --processes/--threads, or more hosts, to scale)
    periodiq tasks.worker      # the scheduler: sends sweep_timers and check_deadlines
                               # (SWEEP_CRON / DEADLINE_CRON, every minute by default)

One periodiq process per deployment is enough (a second is harmless: both jobs are
idempotent). Every worker process also sends one timer sweep when it boots, so a
restarted worker resumes what a dead one held at once.
"""
from __future__ import annotations

import logging

from engine.infra import bootstrap
from engine.infra.process_limits import apply_memory_limit
from engine.settings import Settings
from tasks.queue import make_task_queue

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

settings = Settings.from_env()
apply_memory_limit(settings)  # production only: the address-space cap behind the sandbox
queue = make_task_queue(bootstrap.build(settings, migrate=False), periodic_sweep=True)
broker = queue.broker
