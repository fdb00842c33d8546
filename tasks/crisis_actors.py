"""Crisis fan-out actors (issue 7)."""
from __future__ import annotations


def declare(broker, ctx, actors: dict) -> dict:
    """Declare this module's actors on ``broker``; returns them by name."""
    return {}
