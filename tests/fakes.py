"""Test doubles for rule tests of our own logic that need no database (the Cosmic Python
pattern): a unit of work that records what it was asked to do, a session that answers
every query with nothing, and a runtime whose workflow does what the test says."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select

from engine.models import InstanceStatus, ProcessInstance, ProcessModel


class _FakeBind:
    class dialect:
        name = "sqlite"

    url = "sqlite:///fake"

    @property
    def engine(self):
        return self


class _NoRows:
    """The result of a statement on a :class:`FakeSession`: no rows."""

    rowcount = 0

    def first(self):
        return None

    def all(self) -> list:
        return []

    def scalars(self):
        return self


class FakeSession:
    """Records statements and lifecycle calls; every query finds nothing."""

    def __init__(self, log: list):
        self.log = log
        self.added: list = []
        self.executed: list = []

    def scalars(self, statement):
        return []

    def get_bind(self):
        """An embedded database, for the ids a start reserves."""
        return _FakeBind()

    def scalar(self, statement):
        return None

    def execute(self, statement):
        self.executed.append(statement)
        if not isinstance(statement, Select):  # a read finds nothing and changes nothing: not in the order
            self.log.append("execute")
        return _NoRows()

    def add(self, row) -> None:
        self.added.append(row)

    def add_all(self, rows) -> None:
        self.added.extend(rows)

    def flush(self) -> None:
        self.log.append("flush")

    def rollback(self) -> None:
        self.log.append("rollback")

    def commit(self) -> None:
        self.log.append("commit")

    def close(self) -> None:
        self.log.append("close")


class FakeUnitOfWork:
    """What the engine asks of a unit of work, recorded in order in ``log``."""

    def __init__(self):
        self.log: list = []
        self.session = FakeSession(self.log)
        self.audits: list[tuple] = []
        self.messages: list[tuple] = []

    def audit(self, actor_id, action, subject_type, subject_id, case_code=None, **detail) -> None:
        self.audits.append((actor_id, action, subject_type, subject_id, case_code, detail))
        self.log.append(f"audit:{action}")

    def enqueue(self, actor, *args, eta=None) -> None:
        self.messages.append((actor, args, eta))

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        self.session.commit()

    @property
    def commits(self) -> int:
        return self.log.count("commit")


@dataclass
class FakeWorkflow:
    ready: set[str] = field(default_factory=set)
    waiting_timers: set[str] = field(default_factory=set)
    finished: bool = False
    last_task: object = None


class FakeRuntime:
    """A ProcessRuntime stand-in: ``fail_with`` makes the next move raise."""

    def __init__(self, workflow: FakeWorkflow | None = None, fail_with: Exception | None = None):
        self.workflow = workflow or FakeWorkflow()
        self.fail_with = fail_with
        self.new_task_listeners: list = []
        self.failure_listeners: list = []
        self.recovery_listeners: list = []
        self.restored = 0

    def restore(self, instance):
        self.restored += 1
        return self.workflow

    def checkout(self, instance):  # never hot: every step restores
        return self.restore(instance)

    def new_workflow(self, model, data=None):
        return self.workflow

    def find_ready_human_task(self, workflow, task_id):
        return task_id if task_id in workflow.ready else None

    def complete(self, workflow, task_id, data) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        workflow.ready.discard(task_id)

    def fire_timer(self, workflow, task_id) -> bool:
        if self.fail_with is not None:
            raise self.fail_with
        if task_id not in workflow.waiting_timers:
            return False
        workflow.waiting_timers.discard(task_id)
        return True

    def advance(self, workflow) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def dump(self, workflow) -> str:
        return f"state(ready={sorted(workflow.ready)})"

    def status(self, workflow):
        return InstanceStatus.COMPLETE if workflow.finished else InstanceStatus.RUNNING

    def ready_human_tasks(self, workflow) -> list:
        return []

    def pending_timers(self, workflow) -> list:
        return []


def instance(status=InstanceStatus.RUNNING, instance_id: int = 7) -> ProcessInstance:
    """A transient instance row (never in a session)."""
    model = ProcessModel(id=1, process_id="sample", name="Sample", version=3, content_hash="x")
    return ProcessInstance(id=instance_id, model_id=1, model=model, process_id="sample", case_code="CM-TEST-0001",
                           status=status, state_json="state(before)")
