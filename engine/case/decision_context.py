"""What a task decides: the facts a person needs in view when they approve, review, vote or
redo work — read from the case tables, never from the workflow data.

Per kind of task (the form it shows):

- approving a case plan: the plan (goals, actions, contingency, agreement, referrals);
- the case plan itself, after the supervisor sent one back: the reason, and the rejected
  plan's content to start from (its consent questions are asked again, never pre-ticked);
- reviewing a closure request, and the committee's closure conference: the reason, the
  summary, whether the child's safety was confirmed;
- a committee vote (and the director's decision without quorum, and the conclusions of a
  review conference): the case summary the conference decides on;
- a referral's outcome: the provider, the service, when it was made;
- a case review: the plan in force and the last review;
- judging a risk level: the needs the rating counted.

:func:`task_in_view` is the use case behind the task page and ``GET /api/tasks/<id>``: the
task, and what it decides, audited as a read of the case file. Nothing here shows a client's
name (R32): the facts are what caseworkers and supervisors wrote into the case records.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from engine.case.dashboards import case_summary
from engine.models import Case, CaseEvent, HumanTask, ServiceReferral, Vote
from engine.models.case import CaseStage, ClosureReason, ReferralSource, ReferralStatus, RiskLevel
from engine.models.case_decisions import (
    CaseAssessment,
    CasePlan,
    CaseReview,
    ClosureRequest,
    Conference,
    ConferenceKind,
    ReviewOutcome,
    SpecificNeed,
    VoteChoice,
)
from engine.people.directory import name_of, usernames
from engine.process.human_tasks import TaskView, view_task
from engine.service_ops import backup_records


@dataclass(frozen=True)
class Fact:
    """One labelled fact: a text (shown as written), a moment, a yes/no or a list."""
    label: str
    text: str | None = None
    at: dt.datetime | None = None
    yes: bool | None = None
    items: tuple[str, ...] = ()

    def as_json(self) -> dict:
        shown = {"label": self.label, "text": self.text, "at": self.at.isoformat() if self.at else None,
                 "yes": self.yes, "items": list(self.items)}
        return {key: value for key, value in shown.items() if value not in (None, [])}


@dataclass(frozen=True)
class Section:
    heading: str
    facts: tuple[Fact, ...]

    def as_json(self) -> dict:
        return {"heading": self.heading, "facts": [f.as_json() for f in self.facts]}


@dataclass(frozen=True)
class SentBack:
    """Why the work came back: who decided, when, and their words."""
    by: str | None
    at: dt.datetime | None
    comment: str

    def as_json(self) -> dict:
        return {"by": self.by, "at": self.at.isoformat() if self.at else None, "comment": self.comment}


@dataclass(frozen=True)
class DecisionContext:
    kind: str  # plan_approval | plan_to_redo | closure | conference | referral | review | risk_judgement
    subject: str  # one line for people
    sections: tuple[Section, ...]
    sent_back: SentBack | None = None
    prefill: dict = field(default_factory=dict)  # answers the form starts from

    def as_json(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "sections": [s.as_json() for s in self.sections],
                "sent_back": self.sent_back.as_json() if self.sent_back else None, "prefill": self.prefill}


@dataclass(frozen=True)
class TaskInView:
    view: TaskView
    context: DecisionContext | None
    urgent_since: dt.datetime | None = None  # R46: the case is urgent (work on it was missed) ...
    urgent_reason: str | None = None  # ... and what was missed, in words


def task_in_view(uow, user_id: int, task_id: str) -> TaskInView:
    """The task (``engine.process.human_tasks.view_task``: who may see it, its audit row),
    what it decides, and whether its case is urgent; showing the facts is audited as a read
    of the case file. Commits."""
    view = view_task(uow, user_id, task_id)
    case = uow.session.scalar(select(Case).where(Case.code == view.task.case_code)) if view.task.case_code else None
    context = decision_context(uow.session, view.task)
    if context is not None and case is not None:
        uow.audit(user_id, "case_file_viewed", "case", case.id, case.code, part="decision_context",
                  task_id=view.task.id, kind=context.kind)
    uow.commit()
    if case is None:
        return TaskInView(view, context)
    return TaskInView(view, context, case.urgent_since, case.urgent_reason)


def decisions_in_view(uow, user_id: int, tasks: list[HumanTask]) -> dict[str, DecisionContext]:
    """What each of ``tasks`` decides (the committee's agenda: tasks its members are asked
    to vote in), by task id; each one shown is audited as a read of its case file. Commits."""
    shown: dict[str, DecisionContext] = {}
    for task in tasks:
        context = decision_context(uow.session, task)
        if context is None:
            continue
        case_id = uow.session.scalar(select(Case.id).where(Case.code == task.case_code))
        uow.audit(user_id, "case_file_viewed", "case", case_id, task.case_code, part="decision_context",
                  task_id=task.id, kind=context.kind)
        shown[task.id] = context
    uow.commit()
    return shown


def decision_context(session, task: HumanTask) -> DecisionContext | None:
    """What ``task`` decides, from its case's records; None for a task that decides
    nothing recorded on a case (or has no case). Reads only."""
    if task.form == BACKUP_RESTORE_TEST_FORM:  # no case: the service's own last restore check
        return _backup_restore_check(session)
    builder = BUILDERS.get(task.form or "")
    if builder is None or not task.case_code:
        return None
    case = session.scalar(select(Case).where(Case.code == task.case_code))
    return builder(session, case, task) if case is not None else None


# -- the pieces ---------------------------------------------------------------------------------
def _latest(session, query):
    return session.scalar(query.limit(1))


def _full_plans(case: Case):
    return (select(CasePlan).where(CasePlan.case_id == case.id, CasePlan.kind == "full")
            .order_by(CasePlan.submitted_at.desc(), CasePlan.id.desc()))


def _referral_lines(plan: CasePlan) -> tuple[str, ...]:
    lines = []
    for item in json.loads(plan.referrals_json or "[]"):
        consent = "consent to share given" if item.get("consent_to_share") else "no consent to share"
        lines.append(f"{item.get('provider', '')} — {item.get('service', '')} ({consent})")
    return tuple(lines)


def _plan_section(session, plan: CasePlan, heading: str) -> Section:
    names = usernames(session, [plan.submitted_by])
    return Section(heading, (
        Fact("Goals", plan.goals or None),
        Fact("Actions: who does what, by when", plan.actions or None),
        Fact("Contingency plan", plan.contingency or None),
        Fact("Agreed with the client", yes=plan.agreed_with_client),
        Fact("Referrals", "none in this plan" if not _referral_lines(plan) else None, items=_referral_lines(plan)),
        Fact("Submitted by", name_of(names, plan.submitted_by)),
        Fact("Submitted", at=plan.submitted_at),
    ))


def _sent_back(session, plan: CasePlan) -> SentBack:
    names = usernames(session, [plan.decided_by])
    return SentBack(name_of(names, plan.decided_by), plan.decided_at,
                    plan.decision_comment or "No reason was written down.")


def _case_section(session, case: Case, heading: str = "The case") -> Section:
    summary = case_summary(session, case.code)
    return Section(heading, (
        Fact("Primary concern", case.primary_concern or None),
        Fact("Referred by", ReferralSource.label_of(case.referral_source) if case.referral_source else None),
        Fact("Stage", CaseStage.label_of(case.stage)),
        Fact("Risk level", RiskLevel.label_of(case.risk_level, "Not rated yet")),
        Fact("Caseworker", summary.caseworker if summary else None),
        Fact("Identified", at=case.date_identified),
        Fact("Registered", at=case.date_registered),
        Fact("Last contact", at=case.date_last_contact),
    ))


# -- per kind of task ---------------------------------------------------------------------------
def _plan_to_approve(session, case: Case, task: HumanTask) -> DecisionContext | None:
    plans = list(session.scalars(_full_plans(case).limit(2)))
    if not plans:
        return None
    plan = plans[0]
    earlier = plans[1] if len(plans) > 1 and plans[1].status == "rejected" else None
    sections = [_plan_section(session, plan, "The case plan to approve")]
    return DecisionContext("plan_approval", f"Case plan submitted {plan.submitted_at:%d %b %Y}", tuple(sections),
                           _sent_back(session, earlier) if earlier else None)


def _plan_to_redo(session, case: Case, task: HumanTask) -> DecisionContext | None:
    plan = _latest(session, _full_plans(case))
    if plan is None or plan.status == "submitted":
        return None
    rejected = plan.status == "rejected"
    referrals = [{"provider": item.get("provider", ""), "service": item.get("service", "")}
                 for item in json.loads(plan.referrals_json or "[]")]
    prefill = {key: value for key, value in (("goals", plan.goals), ("actions", plan.actions),
                                             ("contingency_plan", plan.contingency)) if value}
    if referrals:
        prefill["referrals"] = referrals
    heading = "The plan that was sent back" if rejected else "The plan in force"
    subject = "The supervisor sent the case plan back: revise it" if rejected else "Revise the case plan"
    return DecisionContext("plan_to_redo", subject, (_plan_section(session, plan, heading),),
                           _sent_back(session, plan) if rejected else None, prefill)


def _closure_request(session, case: Case, task: HumanTask) -> ClosureRequest | None:
    by_instance = _latest(session, select(ClosureRequest).where(ClosureRequest.instance_id == task.instance_id)
                          .order_by(ClosureRequest.requested_at.desc(), ClosureRequest.id.desc()))
    return by_instance or _latest(session, select(ClosureRequest).where(
        ClosureRequest.case_id == case.id, ClosureRequest.status.in_(("requested", "authorised")))
        .order_by(ClosureRequest.requested_at.desc(), ClosureRequest.id.desc()))


def _safety_confirmed(session, case: Case, closure: ClosureRequest) -> bool | None:
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                     CaseEvent.form == "case_closure_request")
                             .order_by(CaseEvent.at.desc()).limit(20))
    for event in events:
        detail = json.loads(event.detail_json or "{}")
        if detail.get("closure_id") == closure.id:
            return detail.get("safety_confirmed") is True
    return None


def _closure_section(session, case: Case, closure: ClosureRequest) -> Section:
    names = usernames(session, [closure.requested_by, closure.reviewed_by])
    review = None
    if closure.review_vote:
        reviewer = name_of(names, closure.reviewed_by) or "the supervisor"
        review = f"{VoteChoice.label_of(closure.review_vote)} by {reviewer}"
    return Section("The closure request", (
        Fact("Reason", ClosureReason.label_of(closure.reason)),
        Fact("Summary", closure.summary or None),
        Fact("The child's safety confirmed", yes=_safety_confirmed(session, case, closure)),
        Fact("Requested by", name_of(names, closure.requested_by)),
        Fact("Requested", at=closure.requested_at),
        Fact("Supervisor's review", review),
    ))


def _closure_to_review(session, case: Case, task: HumanTask) -> DecisionContext | None:
    closure = _closure_request(session, case, task)
    if closure is None:
        return None
    return DecisionContext("closure", f"Closure requested: {ClosureReason.label_of(closure.reason)}",
                           (_closure_section(session, case, closure), _case_section(session, case)))


def _conference(session, case: Case, task: HumanTask) -> DecisionContext | None:
    conference = _latest(session, select(Conference).where(Conference.instance_id == task.instance_id)
                         .order_by(Conference.opened_at.desc(), Conference.id.desc()))
    if conference is None:
        return None
    kind = ConferenceKind.label_of(conference.kind)
    sections = [_case_section(session, case, "The case before the committee")]
    if conference.kind == "closure":
        closure = (session.get(ClosureRequest, _closure_of(session, conference)) if _closure_of(session, conference)
                   else _closure_request(session, case, task))
        if closure is not None:
            sections.insert(0, _closure_section(session, case, closure))
    elif conference.kind in ("case_review", "emergency_review"):
        plan = _latest(session, _full_plans(case).where(CasePlan.status == "approved"))
        if plan is not None:
            sections.append(_plan_section(session, plan, "The plan in force"))
    if task.form != "committee_vote.json":  # the director and the conclusions see how the votes went
        votes = session.scalars(select(Vote).where(Vote.conference_id == conference.id)).all()
        approvals = sum(1 for v in votes if v.vote == "approve")
        sections.append(Section("The votes", (Fact("Votes cast", f"{len(votes)}: {approvals} approve, "
                                                                 f"{len(votes) - approvals} reject"),)))
    return DecisionContext("conference", f"{kind} conference on case {case.code}, opened "
                           f"{conference.opened_at:%d %b %Y}", tuple(sections))


def _closure_of(session, conference: Conference) -> int | None:
    return session.scalar(select(ClosureRequest.id).where(ClosureRequest.conference_id == conference.id).limit(1))


def _referral(session, case: Case, task: HumanTask) -> DecisionContext | None:
    referral = _latest(session, select(ServiceReferral).where(ServiceReferral.instance_id == task.instance_id,
                                                              ServiceReferral.case_id == case.id))
    if referral is None:
        return None
    names = usernames(session, [referral.created_by])
    return DecisionContext("referral", f"Referral to {referral.provider} for {referral.service}", (Section(
        "The referral", (
            Fact("Provider", referral.provider),
            Fact("Service asked for", referral.service),
            Fact("Consent to share information", yes=referral.consent_to_share),
            Fact("Referred", at=referral.referred_at),
            Fact("Referred by", name_of(names, referral.created_by)),
            Fact("Where it stands", ReferralStatus.label_of(referral.status)),
            Fact("Last outcome noted", referral.outcome or None),
        )),))


def _review(session, case: Case, task: HumanTask) -> DecisionContext | None:
    sections = [_case_section(session, case)]
    plan = _latest(session, _full_plans(case).where(CasePlan.status == "approved"))
    if plan is not None:
        sections.append(_plan_section(session, plan, "The plan in force"))
    last = _latest(session, select(CaseReview).where(CaseReview.case_id == case.id)
                   .order_by(CaseReview.at.desc(), CaseReview.id.desc()))
    if last is not None:
        sections.append(Section("The last review", (
            Fact("Held", at=last.at),
            Fact("Outcome", ReviewOutcome.label_of(last.outcome)),
            Fact("Risk level after it", RiskLevel.label_of(last.risk_after, "Not rated")),
            Fact("Summary", last.summary or None),
        )))
    return DecisionContext("review", f"Case review of case {case.code}", tuple(sections))


def _rating_to_judge(session, case: Case, task: HumanTask) -> DecisionContext | None:
    rating = _latest(session, select(CaseAssessment).where(CaseAssessment.case_id == case.id)
                     .order_by(CaseAssessment.at.desc(), CaseAssessment.id.desc()))
    if rating is None:
        return None
    red = tuple(SpecificNeed.label_of(n) for n in json.loads(rating.red_needs_json or "[]"))
    yellow = tuple(SpecificNeed.label_of(n) for n in json.loads(rating.yellow_needs_json or "[]"))
    return DecisionContext("risk_judgement", f"{len(yellow)} yellow needs and {len(red)} red: judge the level", (
        Section("The needs the rating counted", (
            Fact("Red (urgent) needs", "none" if not red else None, items=red),
            Fact("Yellow needs", "none" if not yellow else None, items=yellow),
            Fact("Suggested level", RiskLevel.label_of(rating.suggested_level, "none")),
            Fact("Rated", at=rating.at),
        )),))


Builder = Callable[..., DecisionContext | None]
BUILDERS: dict[str, Builder] = {
    "case_plan_approval.json": _plan_to_approve,
    "case_plan.json": _plan_to_redo,
    "case_closure_review.json": _closure_to_review,
    "committee_vote.json": _conference,
    "committee_director_decision.json": _conference,
    "committee_review_conclusions.json": _conference,
    "case_referral_outcome.json": _referral,
    "case_review.json": _review,
    "case_risk_judgement.json": _rating_to_judge,
}
BACKUP_RESTORE_TEST_FORM = "bcp_backup_restore_test.json"


def _backup_restore_check(session) -> DecisionContext:
    """The BCP "backup restore test" (R41): the last real restore check, its findings prefilled."""
    last = backup_records.last_check(session)
    if last is None:
        none_yet = Fact("Last restore check", "None yet: the operator runs python -m webui.cli restore PATH --verify")
        return DecisionContext("backup_restore_check", "No backup has been restore-checked yet",
                               (Section("Restore check", (none_yet,)),))
    facts = (Fact("Checked", at=last.verified_at), Fact("Backup", last.backup_path),
             Fact("Backup taken", at=last.backup_taken_at), Fact("Matched its manifest", yes=last.ok),
             Fact("Outcome", last.summary))
    return DecisionContext("backup_restore_check", "The last restore check of a backup",
                           (Section("Restore check", facts),), prefill={"findings": last.sentence()[:4000]})
