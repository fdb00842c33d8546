"""Relay committed outbox rows to the broker.

Services write ``OutboxMessage`` rows inside their transaction; this relay sends them
after the commit (called from the unit of work's after-commit hook and periodically by the
sweeper). A crash between commit and send loses nothing: the row stays unsent and the
next drain sends it. Actors are idempotent, so a message sent twice changes nothing.
"""
from __future__ import annotations

import json
import logging
import threading

from sqlalchemy import select

from engine import clock
from engine.models import OutboxMessage

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, session_factory, actors: dict, batch: int = 500):
        self._session_factory = session_factory
        self._actors = actors
        self._batch = batch
        self._lock = threading.Lock()

    def drain(self) -> int:
        """Send every unsent message; returns how many were sent."""
        sent = 0
        with self._lock:
            while True:
                n = self._drain_batch()
                sent += n
                if n < self._batch:
                    return sent

    def _drain_batch(self) -> int:
        with self._session_factory() as session:
            query = (select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                     .order_by(OutboxMessage.id).limit(self._batch))
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            now = clock.now()
            for row in rows:
                actor = self._actors.get(row.actor)
                if actor is None:
                    log.error("outbox message %s names unknown actor %s", row.id, row.actor)
                    row.attempts += 1
                    continue
                delay_ms = None
                if row.eta is not None and row.eta > now:
                    delay_ms = int((row.eta - now).total_seconds() * 1000)
                actor.send_with_options(args=tuple(json.loads(row.args_json)), delay=delay_ms)
                row.sent_at = now
                row.attempts += 1
            session.commit()
            return len(rows)
