"""Worker heartbeats, and the look for lost jobs that every worker takes.

Each worker process — every ``dramatiq tasks.worker`` process, and the embedded in-process
worker — runs one background thread that writes its heartbeat every ``HEARTBEAT_SECONDS``
and, every ``JOB_SWEEP_SECONDS``, sends again the jobs that were lost (a flushed Redis, a
killed worker: ``OutboxRelay.redeliver``) and the ones never sent. The heartbeats tell
the ledger whose claims still hold, and tell ``/healthz`` whether any worker is alive.

A production worker's thread starts with one full sweep (timers past due, unsent and lost
jobs), so a worker that comes back resumes at once what a dead one held. Stopping, the
worker's last beat says "stopped": whatever it still held when its shutdown timeout ran
out is sent again by the next sweep of another worker, without waiting for staleness.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from dramatiq import Middleware
from sqlalchemy.exc import SQLAlchemyError

from tasks.outbox import BROKER_DOWN, JobLedger, OutboxRelay, WorkerIdentity
from tasks.settings import QueueSettings

log = logging.getLogger(__name__)

_identity: WorkerIdentity | None = None
_identity_lock = threading.Lock()


def this_worker(kind: str = "worker") -> WorkerIdentity:
    """This process's identity as a worker (made on first use, again after a fork)."""
    global _identity
    with _identity_lock:
        if _identity is None or _identity.pid != os.getpid():
            host = socket.gethostname()[:80]
            _identity = WorkerIdentity(f"{host}:{os.getpid()}:{secrets.token_hex(3)}", kind, host, os.getpid(),
                                       os.getppid())
        return _identity


class HeartbeatThread(threading.Thread):
    def __init__(self, ledger: JobLedger, relay: OutboxRelay, worker: WorkerIdentity, settings: QueueSettings,
                 boot_sweep: Callable[[], None] | None = None):
        super().__init__(name=f"heartbeat-{worker.worker_id}", daemon=True)
        self.ledger, self.relay, self.worker, self.settings = ledger, relay, worker, settings
        self.boot_sweep = boot_sweep
        self._stopping = threading.Event()
        self._out_of_reach = False

    def start(self) -> None:
        self._beat()  # registered before the worker says it is ready
        super().start()

    def run(self) -> None:
        if self.boot_sweep is not None:
            self._guarded("the boot sweep", self.boot_sweep)
        next_sweep = time.monotonic() + self.settings.job_sweep_seconds
        while not self._stopping.wait(self.settings.heartbeat_seconds):
            self._beat()
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.settings.job_sweep_seconds
                self._guarded("the look for lost jobs", self._sweep_jobs)

    def _sweep_jobs(self) -> None:
        self.relay.drain()
        self.relay.redeliver()

    def stop(self) -> None:
        """End the thread and say this worker stopped (its claims no longer hold)."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=10)
        self._beat(stopped=True)

    def _beat(self, stopped: bool = False) -> None:
        try:
            self.ledger.beat(self.worker, stopped=stopped)
        except SQLAlchemyError as err:
            if not self._out_of_reach:
                log.warning("worker %s: cannot write its heartbeat (the database is out of reach): %s",
                            self.worker.worker_id, str(err).splitlines()[0])
            self._out_of_reach = True
            return
        if self._out_of_reach:
            log.info("worker %s: heartbeat written again", self.worker.worker_id)
        self._out_of_reach = False

    @staticmethod
    def _guarded(what: str, run: Callable[[], None]) -> None:
        try:
            run()
        except (*BROKER_DOWN, SQLAlchemyError) as err:
            log.warning("%s failed (it runs again at the next sweep): %s", what, str(err).splitlines()[0])


class WorkerHeartbeat(Middleware):
    """Runs a :class:`HeartbeatThread` in every production worker process, from its boot
    (with one full sweep) to its shutdown."""

    def __init__(self, ledger: JobLedger, relay: OutboxRelay, settings: QueueSettings,
                 boot_sweep: Callable[[], None]):
        self.ledger, self.relay, self.settings, self.boot_sweep = ledger, relay, settings, boot_sweep
        self.thread: HeartbeatThread | None = None

    def after_worker_boot(self, broker, worker):
        log.info("worker booted: heartbeat every %.1f s, a sweep now and a look for lost jobs every %.1f s",
                 self.settings.heartbeat_seconds, self.settings.job_sweep_seconds)
        self.thread = HeartbeatThread(self.ledger, self.relay, this_worker(), self.settings, self.boot_sweep)
        self.thread.start()

    def after_worker_shutdown(self, broker, worker):
        if self.thread is not None:
            self.thread.stop()
            log.info("worker %s stopped: heartbeat ended", self.thread.worker.worker_id)
            self.thread = None
