"""Entry point for real workers, settings from the environment:

    dramatiq tasks.worker      # workers (add --processes/--threads to scale)
    periodiq tasks.worker      # the scheduler that sends the periodic timer sweep
"""
from __future__ import annotations

import logging

from engine import bootstrap
from engine.settings import Settings
from tasks.queue import make_task_queue

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

queue = make_task_queue(bootstrap.build(Settings.from_env(), migrate=False), periodic_sweep=True)
broker = queue.broker
