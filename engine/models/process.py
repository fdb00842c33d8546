"""Deployed process models (versioned) and the instances running on them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class InstanceStatus(Vocabulary):
    """Where a process instance stands."""
    RUNNING = "running", "Running"
    COMPLETE = "complete", "Finished"
    ERROR = "error", "Stopped at a failed step"
    CANCELLED = "cancelled", "Cancelled"


class ProcessModel(Base):
    """One version of one executable BPMN process, with the specs it needs.

    ``spec_json`` holds the serialized top-level spec and every subprocess spec, so
    instances never carry them. A new version is made only when ``content_hash`` changes.
    A version that cannot run here (``runnable`` false, e.g. a diagram from another
    modeler whose lanes are not mapped to roles) is kept to be drawn and tested, never
    started; ``view_only_reasons`` says why (JSON: [{file, element_id, line, message}]),
    and its ``spec_json`` is empty when SpiffWorkflow could not build it at all.
    New instances start on the version marked ``starts_new_instances`` (a deploy marks
    the new version; a process owner may mark an older one to roll back); with none
    marked, on the newest runnable version.
    """
    __tablename__ = "process_models"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)  # read only on a spec-cache miss
    deployed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    deployed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # roles that may start this process through the API (the diagram's start_roles
    # property); empty: only the engine starts it (follow-ups, crisis checks, ...)
    start_roles: Mapped[str] = mapped_column(String(300), default="", server_default="")
    runnable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    view_only_reasons: Mapped[str | None] = mapped_column(Text)
    starts_new_instances: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    files: Mapped[list[ProcessModelFile]] = relationship(
        back_populates="model", cascade="all, delete-orphan", lazy="select")


class ProcessModelFile(Base):
    """A source file (BPMN or DMN) that makes up a model version, kept for viewers."""
    __tablename__ = "process_model_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn
    content: Mapped[str] = mapped_column(Text, deferred=True)

    model: Mapped[ProcessModel] = relationship(back_populates="files")


class ProcessDraft(Base):
    """A process owner's unsaved-to-the-engine edit of one file (BPMN, DMN, form or path
    test), kept per owner until it is deployed or discarded (engine.process.drafts).
    ``filename`` is the file's deployed name; a path test's is ``tests/<name>.json``."""
    __tablename__ = "process_drafts"
    __table_args__ = (UniqueConstraint("owner_id", "filename"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    # sha256 of the deployed file the draft was started from (None: a new file); a deploy
    # over a file deployed again since is refused (409) unless the owner overwrites it
    base_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ProcessInstance(Base):
    """A running (or finished) workflow. ``version`` guards against lost updates.

    A step that failed is marked: ``failed_element`` (the diagram element it failed at),
    ``error`` (what went wrong, in words for process owners) and ``failed_step`` (JSON:
    what the step was doing, ``{"trigger": "task"|"timer", "task_id", ...}``, so a
    migration can run it again). A person's failed step leaves the instance running (they
    may try again); a timer's stops it (status ``error``) until a migration resumes it.
    The mark is cleared when the failed route gets past that point."""
    __tablename__ = "process_instances"
    __table_args__ = (Index("ix_process_instances_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=InstanceStatus.RUNNING)
    case_code: Mapped[str | None] = mapped_column(String(40), index=True)
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    state_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    failed_element: Mapped[str | None] = mapped_column(String(200))
    failed_step: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    __mapper_args__ = {"version_id_col": version}

    model: Mapped[ProcessModel] = relationship(lazy="joined")


def insert_instances_before_their_rows(base: type[Base]) -> None:
    """Give every table that refers to a process instance a relationship to it, so a
    flush inserts a new instance before the rows that name it (tasks, timers, records
    of the case, crisis checks, a child instance). The engine keeps a starting instance
    pending until its step is saved (engine.bpmn.engine_step.start); without these the
    unit of work would order the inserts by table name and a row could name an instance
    not yet written. The relationships are never read or set: only their order counts."""
    instance_id = ProcessInstance.__table__.c.id
    for mapper in list(base.registry.mappers):
        for column in mapper.local_table.columns:
            if not any(fk.column is instance_id for fk in column.foreign_keys):
                continue
            name = f"_{column.name}_instance"
            if name in mapper.attrs:
                continue
            remote_side = [instance_id] if mapper.class_ is ProcessInstance else None
            mapper.add_property(name, relationship(ProcessInstance, foreign_keys=[column], lazy="raise",
                                                   passive_deletes=True, remote_side=remote_side))
