"""CPython's cyclic garbage collector, set for a long-running service process.

CPython collects its youngest objects after every 700 net allocations of container objects
and, every hundred of those passes or so, looks at every object alive. An engine step
allocates tens of thousands of objects (a SpiffWorkflow task tree is a web of parents and
children, a batch of the crisis fan-out a hundred of them), while the objects a service
holds for good — its modules, SQLAlchemy's mappers, the deployed processes' parsed specs —
number in the hundreds of thousands; so the full passes, each one a pause of about a tenth
of a second here, come often and find nothing of those to free.

:func:`tune_for_service`, called by the entry points once the process has booted
(``tasks/worker.py``, ``webui/wsgi.py``, ``python -m webui``), moves everything alive then
out of the collector's sight (``gc.freeze``: it lives as long as the process anyway, and a
process forked after it shares those pages instead of copying them when a pass would touch
them), and collects the youngest objects after ``GC_YOUNG_THRESHOLD`` allocations (10,000
by default) instead of 700. Cycles are still found and freed, by the same passes, a little
later: at most that many objects wait, a few megabytes. ``GC_YOUNG_THRESHOLD=0`` leaves the
collector as Python sets it. The crisis fan-out in one process (2,000 cases, PostgreSQL):
1.1-1.2 ms a case with Python's settings, 0.84-0.98 with these (``bench/crisis_fanout.py``).

Tests and command-line tools keep Python's settings: they never go through these entry points.
"""
from __future__ import annotations

import gc
import logging

from engine.settings import Settings

log = logging.getLogger(__name__)


def tune_for_service(settings: Settings) -> bool:
    """Freeze what the booted process holds and raise the young generation's threshold to
    ``settings.gc_young_threshold``; returns False (and changes nothing) when that is 0."""
    young = settings.gc_young_threshold
    if young <= 0:
        return False
    _, middle, old = gc.get_threshold()
    gc.collect()  # what boot left as garbage goes now, not into the frozen generation
    gc.freeze()
    gc.set_threshold(young, middle, old)
    log.info("garbage collector: %d objects of the booted process frozen, young threshold %d",
             gc.get_freeze_count(), young)
    return True
