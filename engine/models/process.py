"""Deployed process models (versioned) and the instances running on them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class InstanceStatus(Vocabulary):
    """Where a process instance stands."""
    RUNNING = "running", "Running"
    COMPLETE = "complete", "Finished"
    ERROR = "error", "Stopped by an error"
    CANCELLED = "cancelled", "Cancelled"


class ProcessModel(Base):
    """One version of one executable BPMN process, with the specs it needs.

    ``spec_json`` holds the serialized top-level spec and every subprocess spec, so
    instances never carry them. A new version is made only when ``content_hash`` changes.
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


class ProcessInstance(Base):
    """A running (or finished) workflow. ``version`` guards against lost updates."""
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
