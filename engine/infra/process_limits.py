"""Operating-system limits on a production process: the hard stop behind the sandbox.

The sandbox guards every operation it knows can grow huge, and bounds time per script and
per engine step; what it cannot see (many moderate allocations kept alive inside one time
budget, a library's own allocation) is stopped here: the process's address space is capped
with ``RLIMIT_AS`` at ``MAX_MEMORY_MB`` (``Settings.max_memory_mb``), so an allocation
beyond it raises ``MemoryError`` in the step that made it — which fails as a diagram
failure (``engine.bpmn.runtime``) — instead of the kernel's OOM killer taking the process,
or a neighbour.

Applied by the production entry points (``webui/wsgi.py`` for gunicorn, ``tasks/worker.py``
for the dramatiq workers), only when ``APP_ENV=production``: never in tests, in the embedded
app or in the command line tools, where a cap on the developer's process helps nobody.
"""
from __future__ import annotations

import logging
import resource

from engine.settings import Settings

log = logging.getLogger(__name__)


def memory_limit_bytes(settings: Settings) -> int | None:
    """The address-space cap ``settings`` ask for, or None for none."""
    if not settings.production or settings.testing or settings.embedded or settings.max_memory_mb <= 0:
        return None
    return settings.max_memory_mb * 1024 * 1024


def apply_memory_limit(settings: Settings) -> int | None:
    """Cap this process's address space (soft and hard: sandboxed code can never raise it
    again); returns the cap in bytes, None when ``settings`` ask for none. An existing
    lower hard limit is kept."""
    limit = memory_limit_bytes(settings)
    if limit is None:
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY and hard < limit:
        limit = hard
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    log.info("address space limited to %d MB (MAX_MEMORY_MB)", limit // (1024 * 1024))
    return limit
