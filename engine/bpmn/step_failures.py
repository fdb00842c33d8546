"""A step that failed because of the diagram: what is recorded, and what the people
involved are told.

:func:`record_failure` (called by ``engine.bpmn.engine_step``) rolls the step back and marks
the instance failed at its element, in a transaction of its own.

Three audiences, three texts:

* the engine's own message (``ScriptError.message``: "the diagram failed at X: NameError:
  ..."), kept in the audit trail for whoever debugs the diagram;
* **process owners** get :func:`in_words`: the element and what went wrong said plainly
  ("Case management needed? (case_management_gw): it reads case_management_needed, which
  has no value here ..."), on the instance (``error``), in the incident and on the models
  page — process owners' pages may show element ids;
* **the person** whose action triggered the step gets :func:`for_the_person`: that the
  step could not be completed and that the process owner has been told — no Python, no
  element id.

:class:`StepFailure` is what the runtime's failure listeners receive
(``ProcessRuntime.failure_listeners``; the composition root turns it into an incident).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import update

from engine.bpmn.runtime import ProcessRuntime
from engine.errors import DomainError, ScriptError
from engine.models import InstanceStatus, ProcessInstance

PERSON_MESSAGE = ("This step could not be completed: the procedure ran into a problem at this point, and the "
                  "process owner has been told. Nothing was saved. You can try again, changing an unusual answer "
                  "if there was one, or later once the procedure is fixed.")
_PREFIX = "the diagram failed at "


@dataclass(frozen=True)
class StepFailure:
    """One failed step of one instance (``instance_id`` None: a start that failed)."""
    instance_id: int | None
    model_id: int
    process_id: str
    version: int
    case_code: str | None
    element_id: str | None
    in_words: str
    technical: str
    stopped: bool
    trigger: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Whereabouts:
    """What a failure record needs of the instance, read before a rollback expires it."""
    instance_id: int
    model_id: int
    process_id: str
    version: int
    case_code: str | None

    @classmethod
    def of(cls, instance: ProcessInstance) -> Whereabouts:
        return cls(instance.id, instance.model_id, instance.process_id, instance.model.version, instance.case_code)


def record_failure(uow, runtime: ProcessRuntime, where: Whereabouts, error: DomainError,
                   actor_id: int | None, stop: bool, trigger: dict[str, object] | None = None) -> None:
    """After a failed step, roll the attempt back and mark the instance failed at the
    element (stopping it when ``stop``), tell the failure listeners, in a transaction of
    its own: the failure must be known although the step is not saved. ``uow``: the step's
    unit of work (``engine.bpmn.engine_step.StepUnitOfWork``)."""
    uow.session.rollback()
    found = error.details.get("element_id") or (trigger or {}).get("element")
    element = str(found) if found else None
    words = in_words(error, element)
    values: dict[str, object] = {"error": words, "failed_element": element,
                                 "failed_step": json.dumps(trigger or {}, sort_keys=True)}
    if stop:
        values["status"] = InstanceStatus.ERROR
    uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == where.instance_id).values(**values))
    uow.audit(actor_id, "script_failed", "process_instance", where.instance_id,
              element=error.details.get("element_id"), message=error.message)
    failure = StepFailure(where.instance_id, where.model_id, where.process_id, where.version,
                          where.case_code, element, words, error.message, stop, dict(trigger or {}))
    for listener in runtime.failure_listeners:
        listener(uow, failure)
    uow.commit()


def for_the_person(error: DomainError) -> ScriptError:
    """The error a person sees for a step the diagram failed (its cause kept as
    ``__cause__``, not shown)."""
    told = ScriptError(PERSON_MESSAGE)
    told.__cause__ = error
    return told


def in_words(error: DomainError, element: str | None = None) -> str:
    """What went wrong, for process owners: the element (the error's, else ``element``),
    then the cause said plainly."""
    element = error.details.get("element_id") or element
    message = error.message
    name, cause = None, None
    if message.startswith(_PREFIX) and ": " in message[len(_PREFIX):]:  # a failure the runtime wrapped
        name, message = message[len(_PREFIX):].split(": ", 1)
        cause = _cause_in_words(error)
    where = f"{name} ({element})" if name and element and name != element else (name or element or "A step")
    return f"{where}: {cause or _plain(message)}"


def _cause_in_words(error: BaseException) -> str | None:
    cause = _root_cause(error)
    if isinstance(cause, NameError):
        name = getattr(cause, "name", None) or "a name"
        return (f"it reads {name}, which has no value at this point (often a decision table with no rule for "
                f"this case, or a form field or an earlier step that did not set it)")
    if isinstance(cause, KeyError):
        return f"it looks up {cause.args[0]!r} in the data, which is not there" if cause.args else None
    if isinstance(cause, ZeroDivisionError):
        return "it divides by zero"
    if isinstance(cause, IndexError):
        return "it reads past the end of a list"
    if isinstance(cause, AttributeError):
        return f"it uses something a value does not have ({cause})"
    if isinstance(cause, TypeError):
        return f"it combines values of kinds that do not go together ({cause})"
    if isinstance(cause, ValueError):
        return f"a value is not usable ({cause})"
    return None


def _root_cause(error: BaseException) -> BaseException | None:
    """The first exception under ``error`` that is neither ours nor SpiffWorkflow's wrapper."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if not isinstance(current, (DomainError, SpiffWorkflowException)):
            return current
        current = current.__cause__ or current.__context__
    return None


def _plain(message: str) -> str:
    """An engine message without the Python exception class names it may carry."""
    for marker in ("NameError: ", "TypeError: ", "KeyError: ", "ValueError: ", "AttributeError: "):
        message = message.replace(marker, "")
    return message
