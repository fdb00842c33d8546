"""Hot instances: restored workflows kept in memory from one step to the next.

Restoring a workflow from its saved state (and dumping it again) costs a persisted step most
of SpiffWorkflow's own speed. A step whose instance is still in memory, unchanged since this
process saved it, takes that workflow instead of restoring it:

* an entry is keyed by the instance's row: its id, model, creation time and **version** (the
  optimistic-lock column bumped by every save). The row read at the start of a step must
  match the key exactly; any other version (another process, or another thread of this one,
  saved since) is a miss, and the step restores from the row as before;
* a step **takes** the entry out (:meth:`HotInstances.take`): two steps never share one
  workflow object, and whatever a step does to it is never seen by anyone else unless the
  step is saved;
* an entry is put back only **after the commit** of the unit of work that saved it
  (``UnitOfWork.on_commit``), under the version that commit wrote. A step that fails, a
  conflict (409), a rollback for any reason: the workflow is simply dropped, and the next
  step restores the committed state;
* a kept workflow is the one a restore would give: the data of every task that changed in the
  step, and the workflows' own data, go through the same JSON round trip as the saved state
  (:func:`normalise`), so a script never behaves differently because its instance was hot
  (``tests/engine/test_hot_instances.py`` compares the saved states step by step).

The cache is bounded (least recently used out first) and per process; it is an optimisation
only: a process that restarts, or runs beside others, just restores more often.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.bpmn.serialization import round_trip_data

DEFAULT_SIZE = 256  # workflows kept per process


@dataclass(frozen=True)
class RowKey:
    """What identifies one saved state of one instance."""
    instance_id: int
    model_id: int
    version: int
    created_at: dt.datetime | None

    @classmethod
    def of(cls, instance) -> RowKey:
        return cls(instance.id, instance.model_id, instance.version, instance.created_at)


class HotInstances:
    """A bounded, thread-safe map of instance id -> (row key, workflow)."""

    def __init__(self, size: int = DEFAULT_SIZE):
        self.size = size
        self._items: OrderedDict[int, tuple[RowKey, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def take(self, instance) -> BpmnWorkflow | None:
        """The workflow saved as ``instance``'s row is now, taken out; None on a miss."""
        key = RowKey.of(instance)
        with self._lock:
            entry = self._items.pop(key.instance_id, None)
            if entry is not None and entry[0] == key:
                self.hits += 1
                return entry[1]
            self.misses += 1
        return None

    def keep(self, key: RowKey, workflow: BpmnWorkflow) -> None:
        """Keep ``workflow`` as the state saved under ``key`` (call after the commit)."""
        if self.size <= 0:
            return
        with self._lock:
            self._items[key.instance_id] = (key, workflow)
            self._items.move_to_end(key.instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, instance_id: int) -> None:
        with self._lock:
            self._items.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def normalise(workflow: BpmnWorkflow, since: float) -> None:
    """Give the data of every task that changed at or after ``since`` (``time.time()``), and
    every workflow's own data, the form a restore from the saved state would give them."""
    for wf in (workflow, *workflow.subprocesses.values()):
        wf.data = round_trip_data(wf.data)
        for task in wf.tasks.values():
            if task.last_state_change >= since:
                task.data = round_trip_data(task.data)
                task.internal_data = round_trip_data(task.internal_data)
