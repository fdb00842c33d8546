"""Referrals to other providers (R18): made only with the client's consent to share
information, each one's outcome tracked by its own short ``case_referral`` instance."""
from __future__ import annotations

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.case import processes as case_processes
from engine.case.records import ensure_not_closed, load_case, record_event
from engine.errors import Forbidden, Invalid
from engine.models import Case, ServiceReferral
from engine.people.directory import get_user, supervisee_ids


def make_referral(uow, runtime: ProcessRuntime, case: Case, provider: str, service: str, actor_id: int | None,
                  parent_instance_id: int | None = None) -> ServiceReferral:
    """Record a referral whose consent is already established and start its tracker."""
    referral = ServiceReferral(case_id=case.id, provider=provider, service=service, consent_to_share=True,
                               status="pending", referred_at=clock.now(), created_by=actor_id)
    uow.session.add(referral)
    uow.session.flush()
    record_event(uow, case, actor_id, "referral", f"referred to {provider} for {service} (consent to share given)",
                 referral_id=referral.id)
    instance = case_processes.start_case_process(uow, runtime, case_processes.REFERRAL_PROCESS, case, actor_id,
                                                 {"referral_id": referral.id}, parent_instance_id)
    referral.instance_id = instance.id
    return referral


def refer_case(uow, runtime: ProcessRuntime, actor_id: int, case_code: str, provider: str, service: str,
               consent_to_share: bool) -> ServiceReferral:
    """The caseworker (or their supervisor) refers the client to another provider during
    implementation. Refused without consent to share information (R18). Commits."""
    session = uow.session
    actor = get_user(session, actor_id)
    case = load_case(session, case_code)
    ensure_not_closed(case, "a referral")
    if not (case.caseworker_id == actor.id or case.supervisor_id == actor.id
            or case.caseworker_id in supervisee_ids(session, actor.id)):
        raise Forbidden("only the case's caseworker or supervisor may refer the client")
    errors = {}
    if consent_to_share is not True:
        errors["consent_to_share"] = ["a referral needs the client's consent to share information (R18)"]
    if not (provider or "").strip():
        errors["provider"] = ["is required"]
    if not (service or "").strip():
        errors["service"] = ["is required"]
    if errors:
        raise Invalid("the referral cannot be made", errors=errors)
    referral = make_referral(uow, runtime, case, provider.strip(), service.strip(), actor.id)
    uow.commit()
    return referral
