"""Incidents: background jobs that still failed after their last retry.

The task-queue adapter records one when a job gives up (:func:`record_failure`); the
same job failing again (same actor, same arguments) reopens that incident instead of
adding another. An admin lists them and asks for a retry, which queues the job once
more (after the commit); its outcome resolves or reopens the incident. A periodic job's
incidents resolve themselves when a later run succeeds (:func:`resolve_superseded`).

A second kind, :data:`DIAGRAM_FAILURE`: a step of a process instance that the diagram
failed (``engine.bpmn.engine_step`` tells the runtime's failure listeners; the composition
root wires :func:`record_diagram_failure`). One incident per instance (per process version
and element for a start that failed), its ``args`` saying the case code, the process, the
version and the element, its ``error`` what went wrong in words. Process owners see these
(and only these) besides admins; both are notified. It is not retried as a job: the
instance's own route runs the step again (a person trying again, or a migration onto a
fixed version), and the incident resolves itself when that gets past the failed element
(:func:`resolve_diagram_failure`).
"""
from __future__ import annotations

import hashlib
import json
import logging

from sqlalchemy import func, select

from engine import clock
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import User, UserRole
from engine.models.ops import INCIDENT_STATES, Incident, IncidentState, dialect_insert
from engine.people.directory import get_user
from engine.service_ops.notifications import notify, notify_in_app
from engine.service_ops.translations import N_, words

log = logging.getLogger(__name__)

ERROR_MAX = 10_000
ADMIN_ROLE = "admin"
OWNER_ROLE = "process_owner"
DIAGRAM_FAILURE = "diagram_failure"  # the incident kind of a step a diagram failed (its actor)


def job_key(actor: str, args) -> str:
    return hashlib.sha256(json.dumps([actor, list(args)], sort_keys=True, default=str).encode()).hexdigest()


def record_job_failure(uow, actor: str, args, error: str, attempts: int, retry_actor: str,
                       on_give_up=None) -> tuple[str, list]:
    """A job gave up after its last retry: open (or reopen) its incident — or, when the job
    was an incident's retry (``retry_actor``), reopen that incident — and let the job's
    owner mark its own record (``on_give_up``: actor name -> ``fn(uow, *args, error=)``).
    Returns the failed job (actor, arguments). Commits."""
    if actor == retry_actor:
        actor, args = retry_failed(uow, int(args[0]), error, attempts)
    else:
        args = list(args)
        record_failure(uow, actor, args, error, attempts)
    hook = (on_give_up or {}).get(actor)
    if hook is not None:
        hook(uow, *args, error=error)
    uow.commit()
    return actor, args


def record_failure(uow, actor: str, args, error: str, attempts: int) -> int:
    """Open (or reopen) the incident of job ``actor(*args)``; returns its id. Admins get
    an in-app notification (no e-mail: the failing job may be the mail itself)."""
    now = clock.now()
    insert = dialect_insert(uow.session, Incident)
    statement = insert.values(
        job_key=job_key(actor, args), actor=actor, args_json=json.dumps(list(args), default=str),
        error=error[:ERROR_MAX], attempts=attempts, state=IncidentState.OPEN, first_seen_at=now, last_seen_at=now,
        retries=0,
    ).on_conflict_do_update(
        index_elements=["job_key"],
        set_={"error": insert.excluded.error, "attempts": Incident.attempts + insert.excluded.attempts,
              "last_seen_at": insert.excluded.last_seen_at, "state": IncidentState.OPEN,
              "resolved_at": None, "resolved_by": None},
    ).returning(Incident.id, Incident.retries)
    incident_id, retries = uow.session.execute(statement).one()
    uow.audit(None, "incident_opened", "incident", incident_id, actor=actor, attempts=attempts)
    admins = uow.session.scalars(select(UserRole.user_id).where(UserRole.role == ADMIN_ROLE))
    notify_in_app(uow, admins, "incident_opened",
                  words(N_("Background job %(actor)s failed after its retries"), actor=actor),
                  body=error[:500], link=f"/api/incidents/{incident_id}",
                  dedupe_key=f"incident_opened:{incident_id}:{retries}")
    log.error("incident %s: %s%s failed %s times: %s", incident_id, actor, tuple(args), attempts, error)
    return incident_id


def _require_admin(session, user_id: int) -> User:
    user = get_user(session, user_id)
    if not user.has_role(ADMIN_ROLE):
        raise Forbidden("only an admin may see or retry failed background jobs")
    return user


def _visible(session, user_id: int):
    """The incidents ``user_id`` may see: every one for an admin, the diagram failures
    for a process owner."""
    user = get_user(session, user_id)
    if user.has_role(ADMIN_ROLE):
        return select(Incident)
    if user.has_role(OWNER_ROLE):
        return select(Incident).where(Incident.actor == DIAGRAM_FAILURE)
    raise Forbidden("only admins and process owners may see incidents")


def list_incidents(session, user_id: int, state: str | None = None, limit: int = 100,
                   offset: int = 0) -> tuple[list[Incident], int]:
    """Incidents newest first (by when they last failed): admins see all, process owners
    the diagram failures."""
    query = _visible(session, user_id)
    if state is not None:
        if state not in INCIDENT_STATES:
            raise Invalid(f"unknown state {state!r}", errors={"state": [f"one of {', '.join(INCIDENT_STATES)}"]})
        query = query.where(Incident.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Incident.last_seen_at.desc(), Incident.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), total


def get_incident(session, user_id: int, incident_id: int) -> Incident:
    incident = session.scalar(_visible(session, user_id).where(Incident.id == incident_id))
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


def _load(session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


def retry_incident(uow, user_id: int, incident_id: int) -> Incident:
    """Queue the failed job again (sent once this unit of work commits). Commits."""
    admin = _require_admin(uow.session, user_id)
    incident = _load(uow.session, incident_id)
    if incident.actor == DIAGRAM_FAILURE:
        raise Conflict("a failed step is not a job to retry: move its instance onto a fixed version of the process "
                       "(process models page, or POST /api/process-models/<process_id>/migrations); a person's "
                       "step can also simply be tried again")
    if incident.state != IncidentState.OPEN:
        raise Conflict(f"incident {incident_id} is {incident.state}; only an open incident can be retried")
    incident.state = IncidentState.RETRIED
    incident.retried_at = clock.now()
    incident.retried_by = admin.id
    incident.retries += 1
    uow.flush()
    uow.enqueue("retry_incident", incident.id)
    uow.audit(admin.id, "incident_retried", "incident", incident.id, actor=incident.actor)
    uow.commit()
    return incident


def resolve_incident(uow, user_id: int, incident_id: int) -> Incident:
    """An admin closes an incident without retrying (the job no longer matters). Commits."""
    admin = _require_admin(uow.session, user_id)
    incident = _load(uow.session, incident_id)
    if incident.state == IncidentState.RESOLVED:
        raise Conflict(f"incident {incident_id} is resolved already")
    incident.state = IncidentState.RESOLVED
    incident.resolved_at = clock.now()
    incident.resolved_by = admin.id
    uow.audit(admin.id, "incident_resolved", "incident", incident.id, actor=incident.actor)
    uow.commit()
    return incident


def job_of_retry(session, incident_id: int) -> tuple[str, list] | None:
    """The job a queued retry should run, or None when the incident is no longer waiting
    for one (resolved meanwhile, or a duplicate message)."""
    incident = session.get(Incident, incident_id)
    if incident is None or incident.state != IncidentState.RETRIED:
        return None
    return incident.actor, json.loads(incident.args_json)


def retry_succeeded(uow, incident_id: int) -> None:
    """The retried job succeeded: resolve its incident. Commits."""
    incident = _load(uow.session, incident_id)
    incident.state = IncidentState.RESOLVED
    incident.resolved_at = clock.now()
    uow.audit(None, "incident_resolved", "incident", incident.id, actor=incident.actor, by="retry")
    uow.commit()


def retry_failed(uow, incident_id: int, error: str, attempts: int) -> tuple[str, list]:
    """The retried job gave up again: reopen. Returns the job (actor, arguments)."""
    incident = _load(uow.session, incident_id)
    incident.state = IncidentState.OPEN
    incident.error = error[:ERROR_MAX]
    incident.attempts += attempts
    incident.last_seen_at = clock.now()
    uow.audit(None, "incident_reopened", "incident", incident.id, actor=incident.actor, attempts=attempts)
    return incident.actor, json.loads(incident.args_json)


def resolve_superseded(uow, actor: str) -> int:
    """A periodic job (it takes no ids: each run does the whole job) ran successfully: the
    incidents its earlier runs left are resolved, by that run. Returns how many. Commits
    (only when there was one)."""
    open_ones = list(uow.session.scalars(select(Incident).where(
        Incident.actor == actor, Incident.state.in_((IncidentState.OPEN, IncidentState.RETRIED)))))
    if not open_ones:
        return 0
    now = clock.now()
    for incident in open_ones:
        incident.state, incident.resolved_at = IncidentState.RESOLVED, now
        uow.audit(None, "incident_resolved", "incident", incident.id, actor=actor, by="next_run")
    uow.commit()
    log.info("%s ran successfully: resolved incident(s) %s", actor, ", ".join(str(i.id) for i in open_ones))
    return len(open_ones)


# -- steps a diagram failed -----------------------------------------------------------------
def record_diagram_failure(uow, failure) -> int:
    """A failure listener (``engine.bpmn.step_failures.StepFailure``): open or reopen the
    instance's incident, and tell process owners and admins. Runs in the failure's own
    transaction (its caller commits)."""
    key_args = [failure.instance_id] if failure.instance_id is not None else \
        [failure.process_id, failure.version, failure.element_id]
    args = {"instance_id": failure.instance_id, "case_code": failure.case_code, "process_id": failure.process_id,
            "version": failure.version, "model_id": failure.model_id, "element_id": failure.element_id,
            "stopped": failure.stopped, "detail": failure.technical[:ERROR_MAX]}
    now = clock.now()
    key = job_key(DIAGRAM_FAILURE, key_args)
    already_open = uow.session.scalar(select(Incident.state).where(Incident.job_key == key)) == IncidentState.OPEN
    insert = dialect_insert(uow.session, Incident)
    statement = insert.values(
        job_key=key, actor=DIAGRAM_FAILURE, args_json=json.dumps(args),
        error=failure.in_words[:ERROR_MAX], attempts=1, state=IncidentState.OPEN, first_seen_at=now, last_seen_at=now,
        retries=0,
    ).on_conflict_do_update(
        index_elements=["job_key"],
        set_={"error": insert.excluded.error, "args_json": insert.excluded.args_json, "attempts": Incident.attempts + 1,
              "last_seen_at": insert.excluded.last_seen_at, "state": IncidentState.OPEN, "resolved_at": None,
              "resolved_by": None},
    ).returning(Incident.id, Incident.attempts)
    incident_id, attempts = uow.session.execute(statement).one()
    uow.audit(None, "incident_opened", "incident", incident_id, failure.case_code, actor=DIAGRAM_FAILURE,
              instance_id=failure.instance_id, element=failure.element_id)
    # each recipient reads it in their language (engine.service_ops.translations)
    subject = words(N_("A step of case %(code)s failed: the process owner is needed"), code=failure.case_code) \
        if failure.case_code else words(N_("A step of %(process)s v%(version)s failed: the process owner is needed"),
                                        process=failure.process_id, version=failure.version)
    if not already_open:  # told once per opening, however often a person tries the step again
        told = uow.session.scalars(select(UserRole.user_id).where(UserRole.role.in_((ADMIN_ROLE, OWNER_ROLE))))
        notify(uow, told, "step_failed", subject,
               body=failure.in_words[:500], case_code=failure.case_code, link=f"/models/{failure.model_id}#failed",
               dedupe_key=f"step_failed:{incident_id}:{attempts}")
    log.warning("incident %s: case %s (%s) failed at %s: %s", incident_id, failure.case_code, failure.process_id,
                failure.element_id, failure.technical)
    return incident_id


def resolve_diagram_failure(uow, instance_id: int) -> None:
    """A recovery listener: the instance got past its failed element, so its incident is
    resolved (in the step's transaction)."""
    incident = uow.session.scalar(select(Incident).where(Incident.job_key == job_key(DIAGRAM_FAILURE, [instance_id]),
                                                         Incident.state != IncidentState.RESOLVED))
    if incident is None:
        return
    incident.state, incident.resolved_at = IncidentState.RESOLVED, clock.now()
    uow.audit(None, "incident_resolved", "incident", incident.id, actor=DIAGRAM_FAILURE, by="the step ran")

