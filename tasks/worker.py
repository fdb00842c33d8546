"""Entry point for real workers, settings from the environment:

    dramatiq tasks.worker      # workers (add --processes/--threads, or more hosts, to scale)
    periodiq tasks.worker      # the scheduler: sends sweep_timers and check_deadlines
                               # (SWEEP_CRON / DEADLINE_CRON, every minute by default)

One periodiq process per deployment is enough (a second is harmless: both jobs are
idempotent). Every worker process also writes a heartbeat, sweeps once when it boots (so a
restarted worker resumes at once what a dead one held) and looks for lost jobs every
``JOB_SWEEP_SECONDS`` (tasks.heartbeats).
"""
from __future__ import annotations

from engine.infra import bootstrap, logs
from engine.infra.garbage_collection import tune_for_service
from engine.infra.process_limits import apply_memory_limit
from engine.settings import Settings
from tasks.queue import make_task_queue

logs.configure()  # JSON lines in production, each naming the request that caused the job

settings = Settings.from_env()
apply_memory_limit(settings)  # production only: the address-space cap behind the sandbox
queue = make_task_queue(bootstrap.build(settings, migrate=False), periodic_sweep=True)
broker = queue.broker
tune_for_service(settings)  # booted: what it holds now is frozen out of the collector's passes
