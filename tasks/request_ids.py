"""The worker's side of request ids (``engine.infra.request_ids``): while a job runs, its
log lines carry the id of the request that caused it (the ``request_id`` message option the
outbox relay copies from the job's row), and the worker logs each job it starts under it."""
from __future__ import annotations

import logging

from dramatiq import Middleware

from engine.infra import request_ids
from tasks.outbox import JOB_OPTION, REQUEST_OPTION

log = logging.getLogger("tasks.jobs")


class RequestIds(Middleware):
    def before_process_message(self, broker, message):
        request_ids.bind(message.options.get(REQUEST_OPTION))
        log.info("job %s started: %s", message.options.get(JOB_OPTION, "-"), message.actor_name,
                 extra={"job_id": message.options.get(JOB_OPTION), "actor": message.actor_name,
                        "request_id": request_ids.current() or "-"})

    def after_process_message(self, broker, message, *, result=None, exception=None):
        request_ids.bind(None)

    def after_skip_message(self, broker, message):
        request_ids.bind(None)
