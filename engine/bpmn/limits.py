"""The bounds on what one engine step and one deployed bundle may cost.

Diagrams, decision tables, forms and workflow data are untrusted: each bound here stops a
way they could stall the service, exhaust its memory or crash a step. The deployment sets
them once (``engine.infra.bootstrap`` from ``engine.settings.Settings``); everything else
reads :func:`current`.

Run time (enforced by ``engine.bpmn.step_budget``, ``engine.bpmn.multi_instance`` and the
state check of ``engine.bpmn.engine_step``):

* ``step_time_limit`` (``STEP_TIME_LIMIT``) seconds of wall clock for one engine step;
* ``max_engine_tasks`` (``MAX_ENGINE_TASKS``) engine tasks run by one step;
* ``max_tasks`` (``MAX_TASKS``) tasks in one instance's task tree (subprocesses included);
* ``max_task_depth`` (``MAX_TASK_DEPTH``) depth of a task tree: SpiffWorkflow's task
  iterator stops at depth 1,000 without a word, so an instance deeper than that reports
  ``complete`` with a task still READY; the bound keeps well below it;
* ``max_multi_instance`` (``MAX_MULTI_INSTANCE``) instances of one multi-instance element;
* ``max_state_kb`` (``MAX_STATE_KB``) size of one instance's saved state (its task tree
  with every task's data).

Deploy time (enforced by ``engine.bpmn.bundle_limits`` and ``engine.bpmn.dmn_check``):

* ``max_flow_elements`` (``MAX_FLOW_ELEMENTS``) flow elements in one process;
* ``max_dmn_rules`` (``MAX_DMN_RULES``) rules in one decision table;
* ``max_form_depth`` (``MAX_FORM_DEPTH``) nesting of a form's JSON;
* ``max_form_kb`` (``MAX_FORM_KB``) size of a form file.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from engine.settings import Settings

SPIFF_ITERATOR_DEPTH = 1000  # SpiffWorkflow's TaskIterator max_depth: tasks below it are never visited


@dataclass(frozen=True)
class Limits:
    step_time_limit: float = 5.0
    max_engine_tasks: int = 5000
    max_tasks: int = 10_000
    max_task_depth: int = 800
    max_multi_instance: int = 200
    max_state_kb: int = 4096
    max_flow_elements: int = 2000
    max_dmn_rules: int = 500
    max_form_depth: int = 32
    max_form_kb: int = 256

    def __post_init__(self) -> None:
        for one in fields(self):
            value = getattr(self, one.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"the limit {one.name} must be a positive number, not {value!r}")
        if self.max_task_depth > SPIFF_ITERATOR_DEPTH - 50:
            raise ValueError(f"max_task_depth must stay below {SPIFF_ITERATOR_DEPTH - 50}: SpiffWorkflow "
                             f"silently skips tasks deeper than {SPIFF_ITERATOR_DEPTH}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        names = {one.name for one in fields(cls)}
        return cls(**{name: getattr(settings, name) for name in names})

    def deploy_key(self) -> str:
        """The deploy-time bounds as text (part of the parsed-bundle cache key)."""
        values = asdict(self)
        return ",".join(f"{name}={values[name]}" for name in
                        ("max_flow_elements", "max_dmn_rules", "max_form_depth", "max_form_kb"))


_current = Limits()


def configure(limits: Limits) -> None:
    """Set the deployment's limits (the composition root does, from the settings)."""
    global _current
    _current = limits


def current() -> Limits:
    return _current


@contextmanager
def overridden(**changes: Any) -> Iterator[Limits]:
    """Other limits for the duration of the block (tests)."""
    saved = _current
    configure(replace(saved, **changes))
    try:
        yield _current
    finally:
        configure(saved)
