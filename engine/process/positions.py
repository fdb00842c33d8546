"""Where a case stands in its processes: each instance, the elements it waits at and the
ones it has passed, per diagram file, for the case page's drawing."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.models import HumanTask, InstanceStatus, ProcessInstance, TaskState, Timer, TimerState
from engine.process.deployment import model_files


@dataclass(frozen=True)
class DiagramPosition:
    """One diagram file of an instance with the elements to mark on it."""
    filename: str
    waiting_at: list[str]  # element ids: ready user tasks and pending timers
    done: list[str]


@dataclass(frozen=True)
class InstancePosition:
    """One process instance of a case and where it stands. A call activity runs inside the
    same instance, so its waiting elements may sit in another diagram file of the model."""
    instance_id: int
    process_id: str
    model_id: int
    model_name: str
    version: int
    status: str
    waiting_titles: list[str]
    diagrams: list[DiagramPosition]


def _file_of(files, element_id: str) -> str | None:
    marker = f'id="{element_id}"'
    return next((f.filename for f in files if marker in f.content), None)


def case_positions(session, case_code: str, limit: int = 10) -> list[InstancePosition]:
    """The case's process instances (running first, newest first) and where each stands."""
    instances = list(session.scalars(
        select(ProcessInstance).where(ProcessInstance.case_code == case_code)
        .order_by((ProcessInstance.status != InstanceStatus.RUNNING), ProcessInstance.id.desc()).limit(limit)))
    out = []
    for inst in instances:
        tasks = session.execute(select(HumanTask.bpmn_id, HumanTask.title, HumanTask.state)
                                .where(HumanTask.instance_id == inst.id)).all()
        timers = session.execute(select(Timer.bpmn_id, Timer.state).where(Timer.instance_id == inst.id)).all()
        waiting = ({t.bpmn_id for t in tasks if t.state == TaskState.READY}
                   | {t.bpmn_id for t in timers if t.state == TimerState.PENDING})
        done = ({t.bpmn_id for t in tasks if t.state == TaskState.COMPLETED}
                | {t.bpmn_id for t in timers if t.state == TimerState.FIRED})
        files = model_files(session, inst.model_id, "bpmn")
        by_file: dict[str, tuple[set, set]] = {}
        main = _file_of(files, inst.process_id)
        if main:
            by_file[main] = (set(), set())
        for ids, slot in ((waiting, 0), (done, 1)):
            for element in ids:
                name = _file_of(files, element)
                if name:
                    by_file.setdefault(name, (set(), set()))[slot].add(element)
        diagrams = [DiagramPosition(name, sorted(w), sorted(d)) for name, (w, d) in by_file.items()
                    if w or (name == main and not waiting)]
        out.append(InstancePosition(inst.id, inst.process_id, inst.model_id, inst.model.name, inst.model.version,
                                    inst.status, [t.title for t in tasks if t.state == TaskState.READY], diagrams))
    return out


def instance_position(session, instance: ProcessInstance) -> InstancePosition:
    """Where one instance stands, for the process owners' instance page: the elements it
    waits at and those it passed, on the diagram files they are drawn in (its main diagram
    first)."""
    tasks = session.execute(select(HumanTask.bpmn_id, HumanTask.title, HumanTask.state)
                            .where(HumanTask.instance_id == instance.id)).all()
    timers = session.execute(select(Timer.bpmn_id, Timer.state).where(Timer.instance_id == instance.id)).all()
    marks = {"waiting": ({t.bpmn_id for t in tasks if t.state == TaskState.READY}
                         | {t.bpmn_id for t in timers if t.state == TimerState.PENDING}),
             "done": ({t.bpmn_id for t in tasks if t.state == TaskState.COMPLETED}
                      | {t.bpmn_id for t in timers if t.state == TimerState.FIRED})}
    files = model_files(session, instance.model_id, "bpmn")
    main = _file_of(files, instance.process_id)
    names = [main] if main else []
    others = {_file_of(files, e) for e in marks["waiting"] | marks["done"]} - {None, main}
    names += sorted(name for name in others if name is not None)
    diagrams = [DiagramPosition(name, sorted(e for e in marks["waiting"] if _file_of(files, e) == name),
                                sorted(e for e in marks["done"] if _file_of(files, e) == name)) for name in names]
    return InstancePosition(instance.id, instance.process_id, instance.model_id, instance.model.name,
                            instance.model.version, instance.status,
                            [t.title for t in tasks if t.state == TaskState.READY], diagrams)
