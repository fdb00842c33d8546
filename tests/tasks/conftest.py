"""Fixtures for the task-queue tests: the test diagrams in tests/tasks/workflows, an
embedded queue with an in-process worker, fast retries, and a local SMTP server."""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.models import HumanTask, Timer, User
from engine.process import instances
from engine.settings import Settings
from tasks.queue import make_task_queue
from tasks.settings import QueueSettings

TASK_WORKFLOWS = Path(__file__).parent / "workflows"
WAIT_S = 20  # upper bound for a worker to finish what a test queued (polling, not sleeping)


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    """Like the root fixture, but deploying only this folder's test diagrams."""
    return Settings(database_url=database_url, redis_url=None, secret_key="test-secret",
                    demo=True, workflows_dir=TASK_WORKFLOWS, instance_dir=tmp_path / "instance",
                    in_process_worker=False, testing=True, script_time_limit=2.0)


@pytest.fixture
def queue_settings() -> QueueSettings:
    return QueueSettings(max_retries=2, min_backoff_ms=10, max_backoff_ms=40, embedded_sweep_seconds=3600,
                         smtp_timeout_seconds=5, public_url="https://casework.example.org")


@pytest.fixture
def make_queue(ctx):
    """``make_queue(queue_settings, start=True, periodic=False)`` → a TaskQueue on the stub
    broker bound to ``ctx``, stopped (and unhooked from ``ctx``) at the end."""
    made = []

    def build(queue_settings: QueueSettings, start: bool = True, periodic: bool = False, threads: int = 2):
        queue = make_task_queue(ctx, queue_settings=queue_settings)
        made.append(queue)
        if start:
            queue.start_worker(threads=threads, periodic=periodic)
        return queue

    yield build
    for queue in made:
        queue.stop()
        ctx.after_commit.remove(queue.relay.relay_committed)


@pytest.fixture
def queue(make_queue, queue_settings):
    return make_queue(queue_settings)


class SmtpCollector:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A local SMTP server (aiosmtpd) collecting what it receives; ``.url`` for SMTP_URL."""
    collector = SmtpCollector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    collector.url = f"smtp://127.0.0.1:{port}"
    yield collector
    controller.stop()


# -- helpers the tests share ---------------------------------------------------------------
def start(ctx, process_id: str, data: dict, username: str | None = None) -> int:
    with ctx.uow() as uow:
        actor = user_id(ctx, username) if username else None
        instance = instances.start_process(uow, ctx.runtime, process_id, actor, data)
        uow.commit()
        return instance.id


def user_id(ctx, username: str) -> int:
    with ctx.session_factory() as s:
        return s.scalar(select(User.id).where(User.username == username))


def ready_task_ids(ctx, instance_id: int) -> list[str]:
    with ctx.session_factory() as s:
        return sorted(s.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                                HumanTask.state == "ready")))


def timers_of(ctx, instance_id: int) -> list[Timer]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(Timer).where(Timer.instance_id == instance_id).order_by(Timer.id)))
