"""Decisions taken on a case, one table each: risk ratings, case plans, reviews, closure
requests, and the committee's conferences with one recorded vote per member (R03).

Imported by ``engine.models.case`` so the tables register together with the case tables
(migration 0002).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class AssessmentKind(Vocabulary):
    INITIAL = "initial", "Initial assessment"
    REASSESSMENT = "reassessment", "Reassessment"
    JUDGEMENT = "judgement", "Caseworker's judgement"


class SpecificNeed(Vocabulary):
    """The specific needs a risk rating counts as red (urgent) or yellow (004 §6.2); the
    forms offer the same codes with the same words."""
    CHILD_AT_RISK = "child_at_risk", "Child at risk"
    UNACCOMPANIED_CHILD = "unaccompanied_child", "Unaccompanied child"
    SEPARATED_CHILD = "separated_child", "Separated child"
    CHILD_ABUSE_OR_NEGLECT = "child_abuse_or_neglect", "Child abuse or neglect"
    CHILD_LABOUR = "child_labour", "Child labour"
    CHILD_MARRIAGE = "child_marriage", "Child marriage, or at risk of it"
    CHILD_ASSOCIATED_WITH_ARMED_GROUPS = ("child_associated_with_armed_groups",
                                          "Child associated with armed forces or groups")
    SURVIVOR_OF_VIOLENCE = "survivor_of_violence", "Survivor of violence"
    SURVIVOR_OF_TORTURE = "survivor_of_torture", "Survivor of torture"
    WOMAN_AT_RISK = "woman_at_risk", "Woman at risk"
    SINGLE_PARENT_OR_CAREGIVER = "single_parent_or_caregiver", "Single parent or caregiver"
    OLDER_PERSON_AT_RISK = "older_person_at_risk", "Older person at risk"
    DISABILITY = "disability", "Person with a disability, or their caregiver"
    SERIOUS_MEDICAL_CONDITION = "serious_medical_condition", "Serious medical condition"
    MENTAL_HEALTH_NEED = "mental_health_need", "Severe mental health need"
    LEGAL_PROTECTION_NEED = "legal_protection_need", "Specific legal or physical protection need"


class PlanKind(Vocabulary):
    INTERIM = "interim", "Interim plan"
    FULL = "full", "Case plan"


class PlanStatus(Vocabulary):
    SUBMITTED = "submitted", "Waiting for the supervisor's approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Sent back to the caseworker"


class ReviewOutcome(Vocabulary):
    CONTINUE = "continue", "Continue the plan"
    REASSESS = "reassess", "Reassess the case"
    REVISE_PLAN = "revise_plan", "Revise the case plan"


class ClosureStatus(Vocabulary):
    REQUESTED = "requested", "Requested"
    AUTHORISED = "authorised", "Authorised"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ConferenceKind(Vocabulary):
    """The case conferences of the committee (003 §5.2.2.4); the last two on open cases (R47)."""
    ADMISSION = "admission", "Admission"
    EMERGENCY = "emergency", "Emergency admission"
    CLOSURE = "closure", "Closure"
    CASE_REVIEW = "case_review", "Case review"
    EMERGENCY_REVIEW = "emergency_review", "Emergency review"


class ConferenceOutcome(Vocabulary):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    NO_QUORUM = "no_quorum", "No quorum: the director decides"


class VoteChoice(Vocabulary):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


ASSESSMENT_KINDS = AssessmentKind.values()
PLAN_KINDS = PlanKind.values()
PLAN_STATUSES = PlanStatus.values()
REVIEW_OUTCOMES = ReviewOutcome.values()
CLOSURE_STATUSES = ClosureStatus.values()
CONFERENCE_KINDS = ConferenceKind.values()
CONFERENCE_OUTCOMES = ConferenceOutcome.values()
VOTES = VoteChoice.values()


class CaseAssessment(Base):
    """A risk rating (R08-R11): the needs counted, the level the decision table suggested,
    the level kept and, when the caseworker overrode the suggestion, the reason."""
    __tablename__ = "case_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # ASSESSMENT_KINDS
    red_needs_json: Mapped[str] = mapped_column(Text, default="[]")
    yellow_needs_json: Mapped[str] = mapped_column(Text, default="[]")
    red_count: Mapped[int] = mapped_column(Integer, default=0)
    yellow_count: Mapped[int] = mapped_column(Integer, default=0)
    suggested_level: Mapped[str | None] = mapped_column(String(10))
    risk_level: Mapped[str] = mapped_column(String(10))
    needs_judgement: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    basic_need_unmet: Mapped[bool] = mapped_column(Boolean, default=False)
    safety_concern: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    assessed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class CasePlan(Base):
    """An interim plan (R16) or a case plan approved by the supervisor (R17)."""
    __tablename__ = "case_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # PLAN_KINDS
    goals: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")
    contingency: Mapped[str] = mapped_column(Text, default="")
    agreed_with_client: Mapped[bool] = mapped_column(Boolean, default=False)
    referrals_json: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str] = mapped_column(String(20), default="submitted")  # PLAN_STATUSES
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_comment: Mapped[str] = mapped_column(Text, default="")


class CaseReview(Base):
    """A case review (R19): who chaired it, the risk level before and after, the outcome
    (R20: it may send the case back to assessment or planning)."""
    __tablename__ = "case_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    risk_before: Mapped[str | None] = mapped_column(String(10))
    risk_after: Mapped[str | None] = mapped_column(String(10))
    risk_change_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))  # REVIEW_OUTCOMES
    early: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")


class ClosureRequest(Base):
    """One request to close a case (R21-R25), from the request to the closure (or its
    withdrawal): the review, the authorisation, and for a transfer the consent and the
    handover plan. A case is closed only through an authorised request."""
    __tablename__ = "case_closures"
    __table_args__ = (Index("ix_case_closures_case_status", "case_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    reason: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="requested")  # CLOSURE_STATUSES
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    review_vote: Mapped[str | None] = mapped_column(String(10))
    conference_id: Mapped[int | None] = mapped_column(ForeignKey("conferences.id"))
    authorised_by_rule: Mapped[str | None] = mapped_column(String(20))  # e.g. "R27" for the aged-out auto-close
    authorised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    transfer_consent: Mapped[str | None] = mapped_column(String(10))  # given|refused
    transfer_consent_by: Mapped[str | None] = mapped_column(String(20))
    receiving_agency: Mapped[str | None] = mapped_column(String(200))
    handover_plan: Mapped[str | None] = mapped_column(Text)
    death_reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Conference(Base):
    """A case conference of the committee (003 §5.2.2.4): who was asked to vote, the rule
    the outcome followed, and the outcome."""
    __tablename__ = "conferences"
    __table_args__ = (Index("ix_conferences_case_outcome", "case_id", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    kind: Mapped[str] = mapped_column(String(20))  # CONFERENCE_KINDS
    member_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    quorum_percent: Mapped[int | None] = mapped_column(Integer)
    approve_percent: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    outcome: Mapped[str | None] = mapped_column(String(20))  # CONFERENCE_OUTCOMES; None while open
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the director, without quorum


class Vote(Base):
    """One recorded vote of one committee member in one conference (R03)."""
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("conference_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    vote: Mapped[str] = mapped_column(String(10))  # VOTES
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
