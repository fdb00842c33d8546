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

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.bpmn import durations
from engine.bpmn import limits as bpmn_limits
from engine.bpmn.runtime import ProcessRuntime
from engine.case import handover as handover_operations
from engine.case.operations import aged_out as aged_out_operations
from engine.case.operations import care as care_operations
from engine.case.operations import closure as closure_operations
from engine.case.operations import consultation as consultation_operations
from engine.case.operations import file_release as file_release_operations
from engine.case.operations import intake as intake_operations
from engine.case.operations import monitoring as monitoring_operations
from engine.committee import operations as committee_operations
from engine.committee import review_operations as committee_review_operations
from engine.complaints import operations as complaint_operations
from engine.crisis import drills as crisis_drills
from engine.crisis import operations as crisis_operations
from engine.infra import db
from engine.infra.unit_of_work import UnitOfWork
from engine.people import demo as demo_users
from engine.process import deployment as model_service
from engine.process import workflow_catalogues
from engine.service_ops import incidents, notifications
from engine.settings import Settings
from engine.supervision import operations as supervision_operations

log = logging.getLogger(__name__)

# Importing these registers their operations (engine.bpmn.operations knows none by name).
OPERATION_MODULES = (intake_operations, care_operations, monitoring_operations, closure_operations,
                     aged_out_operations, committee_operations, crisis_operations, committee_review_operations,
                     complaint_operations, handover_operations, supervision_operations, file_release_operations,
                     consultation_operations)


@dataclass
class EngineContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker
    runtime: ProcessRuntime
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def uow(self, session: Session | None = None) -> UnitOfWork:
        """A unit of work on a session of its own, or on ``session`` (the web app's
        request-scoped one), which it then leaves open for its owner."""
        if session is not None:
            return UnitOfWork(session=session, after_commit=self.after_commit)
        return UnitOfWork(self.session_factory, after_commit=self.after_commit)


class SchemaNotCurrent(RuntimeError):
    """A production process found a database that is not migrated to this code's newest
    migration: it refuses to serve it (it never migrates by itself)."""


def build(settings: Settings, migrate: bool | None = None) -> EngineContext:
    """``migrate`` defaults to ``settings.migrate_on_start`` (on embedded, never in
    production). A production process that does not migrate first checks that the database
    is migrated, and raises ``SchemaNotCurrent`` saying what to run if it is not."""
    if settings.embedded:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database_url, busy_timeout_s=settings.sqlite_busy_timeout_s)
    if (settings.migrate_on_start and not settings.production) if migrate is None else migrate:
        db.upgrade(engine)
    elif settings.production:
        try:
            require_current_schema(engine)
        except SchemaNotCurrent:
            engine.dispose()
            raise
    durations.configure(settings.max_duration_days)
    bpmn_limits.configure(bpmn_limits.Limits.from_settings(settings))
    workflow_catalogues.configure(settings.workflows_dir)  # the forms' and titles' words in each language
    runtime = ProcessRuntime(script_time_limit=settings.script_time_limit,
                             new_task_listeners=[crisis_drills.mark_drill_tasks, notifications.notify_new_tasks],
                             failure_listeners=[incidents.record_diagram_failure],
                             recovery_listeners=[incidents.resolve_diagram_failure])
    return EngineContext(settings=settings, engine=engine, session_factory=db.make_session_factory(engine),
                         runtime=runtime)


def schema_revisions(engine: Engine) -> tuple[str | None, str | None]:
    """(the database's migration, the newest migration of this code); None: no schema yet."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    head = ScriptDirectory(str(db.MIGRATIONS_DIR)).get_current_head()
    return current, head


def require_current_schema(engine: Engine) -> None:
    """``SchemaNotCurrent`` unless the database is at this code's newest migration."""
    current, head = schema_revisions(engine)
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    state = "has no schema yet" if current is None else f"is at migration {current}, this code needs {head}"
    raise SchemaNotCurrent(f"the database {where} {state}: run `python -m webui.cli migrate` (then "
                           f"`python -m webui.cli deploy`) before starting; in production (APP_ENV=production) "
                           f"the web app and the workers never migrate or deploy by themselves")


def start_up(ctx: EngineContext) -> None:
    """What starting the web app does to the database. Embedded (and tests): deploy
    ``workflows/`` and seed the demo users, as the settings say (``build`` migrated already).
    Production: nothing — the operator's ``migrate`` and ``deploy`` steps ran once, so any
    number of web processes start side by side without racing."""
    if not ctx.settings.production:
        deploy_and_seed(ctx)


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
