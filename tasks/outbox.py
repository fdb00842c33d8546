"""Relay committed outbox rows to the broker.

Services write ``OutboxMessage`` rows inside their transaction; this relay sends them
after the commit (called from the unit of work's after-commit hook and by every sweep).
A crash between commit and send loses nothing: the row stays unsent and the next drain
sends it. Nor does a broker that is down: the row waits, the caller's request still
succeeds, and the sweeper sends it once the broker is back. Actors are idempotent, so a
message sent twice (crash after send, before marking) changes nothing.
"""
from __future__ import annotations

import json
import logging
import threading

import redis
from dramatiq.errors import BrokerError
from sqlalchemy import select

from engine import clock
from engine.models import OutboxMessage

log = logging.getLogger(__name__)

BROKER_DOWN = (BrokerError, redis.exceptions.RedisError)


class OutboxRelay:
    def __init__(self, session_factory, actors: dict, batch: int = 500):
        self._session_factory = session_factory
        self._actors = actors
        self._batch = batch
        self._lock = threading.Lock()

    def drain(self) -> int:
        """Send every unsent message; returns how many were sent. Never raises for a
        broker outage (the rows wait for the next drain)."""
        sent = 0
        with self._lock:
            while True:
                n, more = self._drain_batch()
                sent += n
                if not more:
                    return sent

    def _drain_batch(self) -> tuple[int, bool]:
        """Send one batch; returns (sent, whether another batch may be waiting)."""
        with self._session_factory() as session:
            query = (select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                     .order_by(OutboxMessage.id).limit(self._batch))
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            now = clock.now()
            sent, broker_down = 0, False
            for row in rows:
                actor = self._actors.get(row.actor)
                if actor is None:
                    log.error("outbox message %s names unknown actor %s", row.id, row.actor)
                    row.attempts += 1
                    continue
                delay_ms = None
                if row.eta is not None and row.eta > now:
                    delay_ms = int((row.eta - now).total_seconds() * 1000)
                row.attempts += 1
                try:
                    actor.send_with_options(args=tuple(json.loads(row.args_json)), delay=delay_ms)
                except BROKER_DOWN as err:
                    log.warning("broker unavailable, %d outbox message(s) wait for the next sweep: %s",
                                len(rows) - sent, err)
                    broker_down = True
                    break
                row.sent_at = now
                sent += 1
            session.commit()
            return sent, (not broker_down and sent > 0 and len(rows) == self._batch)
