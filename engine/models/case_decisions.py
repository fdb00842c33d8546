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
from engine.models.base import Base, UTCDateTime

ASSESSMENT_KINDS = ("initial", "reassessment", "judgement")
PLAN_KINDS = ("interim", "full")
PLAN_STATUSES = ("submitted", "approved", "rejected")
REVIEW_OUTCOMES = ("continue", "reassess", "revise_plan")
CLOSURE_STATUSES = ("requested", "authorised", "closed", "withdrawn")
CONFERENCE_KINDS = ("admission", "emergency", "closure")
CONFERENCE_OUTCOMES = ("approved", "rejected", "no_quorum")
VOTES = ("approve", "reject")


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
