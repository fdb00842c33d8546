"""Service-task operations: how a diagram changes case records.

A BPMN service task names an operation and its parameters::

    <bpmn:serviceTask id="assign" name="Assign a caseworker">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="case.assign_caseworker" resultVariable="assignment">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="reason" type="str" value="&quot;intake&quot;"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>

Parameter values are sandboxed expressions over task data. The operation runs inside the
same unit of work as the engine step that reached it (bound with :func:`bound`), so its
writes commit or roll back with the instance. Its JSON-able result lands in the task data
under ``resultVariable``: keep it to ids and flags.

Operations are plain functions registered with :func:`operation` by the context packages
that own them (``engine.case.operations``, ``engine.committee.operations``,
``engine.crisis.operations``). This module names none of them: the composition root
(``engine.infra.bootstrap``) imports them, which registers them. The deploy step refuses a
diagram that names an unknown operation.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_registry: dict[str, Callable[..., Any]] = {}


@dataclass
class OperationContext:
    """What an operation may use: the open unit of work, the instance being advanced
    (its row), the person whose action triggered the step (None for timers), the runtime."""
    uow: Any
    instance: Any
    actor_id: int | None
    runtime: Any


_current: ContextVar[OperationContext | None] = ContextVar("operation_context", default=None)


def operation(name: str):
    """Register ``fn(ctx: OperationContext, task_data: dict, **params) -> JSON-able``."""
    def register(fn):
        if name in _registry and _registry[name] is not fn:
            raise ValueError(f"operation {name} is registered twice")
        _registry[name] = fn
        return fn
    return register


def known_operations() -> set[str]:
    """Every registered operation's name. Empty would mean nothing registered them, and
    every service task would then be refused: that is a wiring error, said loudly."""
    if not _registry:
        raise RuntimeError("no service-task operations are registered: import engine.infra.bootstrap "
                           "(the composition root) before parsing or running diagrams")
    return set(_registry)


@contextmanager
def bound(ctx: OperationContext) -> Iterator[OperationContext]:
    """Make ``ctx`` the context of every operation a diagram calls inside the block."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def current() -> OperationContext:
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("a service task ran outside an engine service (no unit of work bound)")
    return ctx


def call(task, operation_name: str, operation_params: dict) -> str:
    """Spiff's ``call_service`` hook: run one operation, return its result as JSON text."""
    fn = _registry.get(operation_name)
    if fn is None:
        raise LookupError(f"unknown service-task operation {operation_name!r}")
    params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
    result = fn(current(), task.data, **params)
    return json.dumps(result if result is not None else {}, default=str)
