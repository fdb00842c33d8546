"""An urgent consultation on a case (R49, 003 §5.2.3: "In the absence of the allocated Case
Supervisor, or when urgent consultations are needed, the Project Director will assist in
managing the process").

:func:`request_consultation` is the caseworker asking, from the case file, with what it is
about: the question goes into the case's timeline (free text stays out of workflow data)
and the ``case_consultation`` process starts. Its diagram gives the question to the case's
supervisor, due within ``case_consultation_timeframes``; straight to the project director
when the supervisor is absent, and to the director when the supervisor has not answered in
that time. The answer (advice, and a decision where one is taken) is kept in the timeline
and audited (``engine.case.operations.consultation``).
"""
from __future__ import annotations

from engine.bpmn.runtime import ProcessRuntime
from engine.bpmn.task_sync import stand_in_for
from engine.case import processes as case_processes
from engine.case.records import load_case, record_event
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Case, ProcessInstance, User
from engine.people.directory import get_user, users_with_role

CONSULTATION_PROCESS = "case_consultation"
ABOUT_MAX = 2000


def may_ask(user: User, case: Case) -> bool:
    """Only the case's own caseworker asks for an urgent consultation on it."""
    return case.caseworker_id is not None and user.id == case.caseworker_id


def supervisor_present(session, case: Case) -> bool:
    """The case has a supervisor who is at work (not marked absent)."""
    return case.supervisor_id is not None and stand_in_for(session, case.supervisor_id) == case.supervisor_id


def project_director(session) -> str | None:
    """The username of the project director who answers: the first one present, else the
    first one (the task then waits for them); None when there is no director."""
    directors = users_with_role(session, "director")
    present = [d for d in directors if d.available]
    chosen = present or directors
    return chosen[0].username if chosen else None


def request_consultation(uow, runtime: ProcessRuntime, actor_id: int, case_code: str,
                         about: str | None) -> ProcessInstance:
    """The caseworker asks for an urgent consultation on their case. One at a time per
    case. Commits."""
    session = uow.session
    user = get_user(session, actor_id)
    case = load_case(session, case_code)
    if not may_ask(user, case):
        raise Forbidden(f"only the caseworker of case {case.code} asks for an urgent consultation on it")
    about = (about or "").strip()
    if not about:
        raise Invalid("say what the consultation is about", errors={"about": ["missing"]})
    if len(about) > ABOUT_MAX:
        raise Invalid(f"say what the consultation is about in {ABOUT_MAX} characters or fewer",
                      errors={"about": ["too long"]})
    if case_processes.running_instances(session, case.code, [CONSULTATION_PROCESS]):
        raise Conflict(f"an urgent consultation on case {case.code} is already waiting for its answer")
    record_event(uow, case, user.id, "form", "asked for an urgent consultation", form="case_consultation_request",
                 about=about)
    instance = case_processes.start_case_process(uow, runtime, CONSULTATION_PROCESS, case, user.id)
    uow.commit()
    return instance
