"""The composition root: wire a database, a runtime and a unit-of-work factory from
``Settings``, and register every service-task operation the diagrams may call.

Both adapters (the web app and the task workers) build their world through this, so they
run the same engine against the same database. It is the one module of ``engine/`` that
may import every context.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from engine.bpmn import durations
from engine.bpmn import limits as bpmn_limits
from engine.bpmn.runtime import ProcessRuntime
from engine.case.operations import care as care_operations
from engine.case.operations import closure as closure_operations
from engine.case.operations import intake as intake_operations
from engine.committee import operations as committee_operations
from engine.crisis import operations as crisis_operations
from engine.infra import db
from engine.infra.unit_of_work import UnitOfWork
from engine.people import demo as demo_users
from engine.process import deployment as model_service
from engine.service_ops import notifications
from engine.settings import Settings

log = logging.getLogger(__name__)

# Importing these registers their operations (engine.bpmn.operations knows none by name).
OPERATION_MODULES = (intake_operations, care_operations, closure_operations, committee_operations,
                     crisis_operations)


@dataclass
class EngineContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker
    runtime: ProcessRuntime
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, after_commit=self.after_commit)


def build(settings: Settings, migrate: bool | None = None) -> EngineContext:
    """``migrate`` defaults to ``settings.migrate_on_start``."""
    if settings.embedded:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database_url, busy_timeout_s=settings.sqlite_busy_timeout_s)
    if settings.migrate_on_start if migrate is None else migrate:
        db.upgrade(engine)
    durations.configure(settings.max_duration_days)
    bpmn_limits.configure(bpmn_limits.Limits.from_settings(settings))
    runtime = ProcessRuntime(script_time_limit=settings.script_time_limit,
                             new_task_listeners=[notifications.notify_new_tasks])
    return EngineContext(settings=settings, engine=engine, session_factory=db.make_session_factory(engine),
                         runtime=runtime)


def deploy_and_seed(ctx: EngineContext) -> None:
    """Deploy ``workflows/`` and, in demo mode, create the demo users (start-up of the
    embedded app; one transaction)."""
    with ctx.uow() as uow:
        if ctx.settings.demo:
            made = demo_users.seed_demo_users(uow)
            if made:
                log.info("seeded %d demo users", made)
        if ctx.settings.deploy_on_start:
            for result in model_service.deploy_directory(uow, ctx.settings.workflows_dir):
                log.info("process model %s v%s%s", result.process_id, result.version,
                         " (new)" if result.created else "")
        uow.commit()
