"""The outbox: messages leave only after the commit, and nothing is lost when the process
dies between the commit and the send, or when the broker is down."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select

from engine import clock
from engine.models import OutboxMessage
from engine.service_ops import notifications
from tasks.queue import make_task_queue
from tests.tasks.conftest import WAIT_S, free_port, ready_task_ids, start, timers_of, user_id


def unsent(ctx) -> int:
    with ctx.session_factory() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))


def test_messages_leave_only_after_the_commit(ctx, make_queue, queue_settings):
    queue = make_queue(queue_settings, start=False)
    engine_queue = queue.broker.queues["engine"]
    with ctx.uow() as uow:
        notifications.notify(uow, [user_id(ctx, "caseworker1")], "general", "rolled back")
        uow.session.flush()
        assert engine_queue.qsize() == 0
    assert engine_queue.qsize() == 0 and unsent(ctx) == 0  # rolled back: no row, no message
    with ctx.uow() as uow:
        notifications.notify(uow, [user_id(ctx, "caseworker1")], "general", "committed")
        assert engine_queue.qsize() == 0
        uow.commit()
    assert engine_queue.qsize() == 1 and unsent(ctx) == 0


def test_a_crash_between_commit_and_send_loses_nothing(ctx, make_queue, queue_settings):
    """The process committed the instance and died before relaying: the outbox row is
    still unsent, and the next sweep sends it; the timer then fires on time."""
    crashed = dataclasses.replace(ctx, after_commit=[])  # commits, never relays
    instance_id = start(crashed, "queue_timer", {"fire_at": (clock.now() + dt.timedelta(seconds=2)).isoformat(),
                                                 "spin": 1})
    assert unsent(ctx) == 1
    queue = make_queue(queue_settings)
    queue.actors["sweep_timers"].send()
    assert queue.wait_for(lambda: ready_task_ids(ctx, instance_id) == ["after_wait"], WAIT_S)
    assert unsent(ctx) == 0 and timers_of(ctx, instance_id)[0].state == "fired"


def test_a_broker_outage_does_not_fail_the_request_and_the_rows_wait(ctx, queue_settings):
    down = dataclasses.replace(ctx, settings=dataclasses.replace(
        ctx.settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"), after_commit=[])
    queue = make_task_queue(down, queue_settings=queue_settings)
    try:
        with down.uow() as uow:
            notifications.notify(uow, [user_id(ctx, "caseworker1")], "general", "while Redis is down")
            uow.commit()  # the after-commit relay meets a dead broker: no exception here
        assert unsent(ctx) == 1
        assert queue.relay.drain() == 0 and unsent(ctx) == 1
    finally:
        queue.stop()


def test_a_commit_relays_only_its_own_messages_and_leaves_the_backlog_to_the_sweep(ctx, make_queue, queue_settings):
    """Issue 16 (4): the after-commit relay sends what that transaction wrote; a backlog left
    by an outage waits for the sweep instead of slowing down the next request."""
    crashed = dataclasses.replace(ctx, after_commit=[])  # three rows left unsent, as after an outage
    for n in range(3):
        with crashed.uow() as uow:
            notifications.notify(uow, [user_id(ctx, "caseworker1")], "general", f"backlog {n}")
            uow.commit()
    queue = make_queue(queue_settings, start=False)
    engine_queue = queue.broker.queues["engine"]
    with ctx.uow() as uow:
        notifications.notify(uow, [user_id(ctx, "caseworker1")], "general", "this request's own")
        uow.commit()
    assert engine_queue.qsize() == 1 and unsent(ctx) == 3  # its own message only
    with ctx.uow() as uow:  # a commit that wrote no message sends nothing either
        uow.audit(None, "nothing_to_send", "test", 1)
        uow.commit()
    assert engine_queue.qsize() == 1 and unsent(ctx) == 3
    assert queue.relay.drain() == 3 and unsent(ctx) == 0 and engine_queue.qsize() == 4  # the sweep's share
