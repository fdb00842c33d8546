"""Case records (DOMAIN §3), kept in tables; workflow data holds only the case code.

The client's identity lives in ``clients`` and is tied to a case only through
``case_client_links`` (R05): lists and case files show codes, and the link is read only
by people who need to know, every read audited.

The decisions taken along the way (assessments, plans, reviews, closures, committee
conferences and their votes) are in ``engine.models.case_decisions``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class CaseStatus(Vocabulary):
    """The case statuses of 003 §5.5."""
    OPEN = "O", "Open"
    INACTIVE = "IA", "Inactive"
    AGED_OUT = "AO", "Aged out"
    CLOSED = "C", "Closed"


class RiskLevel(Vocabulary):
    """The risk rating of 004 §6.2."""
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# The risk level a diagram (and a page) sees before a case's first rating.
UNRATED = "unrated"


class CaseStage(Vocabulary):
    """Where a case stands in the process (DOMAIN §2). "Pending or under review" for the
    BCP (R37) means screening, admission or review."""
    SCREENING = "screening", "Screening"
    EMERGENCY = "emergency", "Emergency response"
    ADMISSION = "admission", "Admission"
    INTAKE = "intake", "Intake"
    ASSESSMENT = "assessment", "Assessment"
    PLANNING = "planning", "Case planning"
    IMPLEMENTATION = "implementation", "Implementation"
    REVIEW = "review", "Case review"
    CLOSURE = "closure", "Closure"
    POST_CLOSURE = "post_closure", "After closure"
    CLOSED = "closed", "Closed"
    NO_ACTION = "no_action", "No action required"


CASE_STATUSES = CaseStatus.values()
STATUS_NAMES = {status.value: status.label.lower() for status in CaseStatus}
ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.INACTIVE, CaseStatus.AGED_OUT)  # count against the caseload (R06)
RISK_LEVELS = RiskLevel.values()
CASE_STAGES = CaseStage.values()
# Why a case was closed (DOMAIN §2 step 11; R21). The first six are the reasons a caseworker
# may give in a closure request; the others are recorded by the process itself.
CLOSURE_REASONS = ("goals_met", "no_longer_wants_services", "aged_out", "death", "transfer",
                   "moved_away_or_untraceable")
NO_ACTION_REASONS = ("not_eligible", "admission_rejected", "consent_refused", "low_risk")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_caseworker_status", "caseworker_id", "status"),
        Index("ix_cases_status_risk", "status", "risk_level"),
        Index("ix_cases_supervisor_status", "supervisor_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(2), default=CaseStatus.OPEN)
    stage: Mapped[str] = mapped_column(String(40), default=CaseStage.SCREENING)
    risk_level: Mapped[str | None] = mapped_column(String(10))
    risk_suggested: Mapped[str | None] = mapped_column(String(10))
    risk_needs_judgement: Mapped[bool] = mapped_column(Boolean, default=False)
    in_crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    intake_worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    main_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    primary_concern: Mapped[str] = mapped_column(Text, default="")
    referral_source: Mapped[str] = mapped_column(String(60), default="")
    referred_by: Mapped[str | None] = mapped_column(String(200))
    closure_reason: Mapped[str | None] = mapped_column(String(40))
    confidential_notes: Mapped[str] = mapped_column(Text, default="")
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # tracking dates (004 §4.1, R34)
    date_identified: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_intake: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_registered: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_initial_assessment: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_comprehensive_started: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_comprehensive_completed: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_plan_approved: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_last_contact: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_next_contact: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_last_review: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_next_review: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_closed: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_transferred: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_aged_out: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_inactive: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_reopened: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Client(Base):
    """Who the person is. Never joined into lists; reached only through the link."""
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class CaseClientLink(Base):
    """The name <-> code link (R05), kept apart from the case file."""
    __tablename__ = "case_client_links"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)


class CaseEvent(Base):
    """The case's history: status, risk, assignment and stage changes, and every form
    submitted. Each row carries the R33 header: date, case status, caseworker, supervisor
    and the name of the form or report."""
    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))  # status|risk|assignment|stage|form|note
    summary: Mapped[str] = mapped_column(Text)
    form: Mapped[str | None] = mapped_column(String(80))  # report name (R33)
    case_status: Mapped[str] = mapped_column(String(2), default="O")
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail_json: Mapped[str] = mapped_column(Text, default="{}")


class CaseNote(Base):
    """A contact or a note (R33: carries date, code, status, caseworker, supervisor)."""
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40), default="contact")
    contact_method: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    case_status: Mapped[str] = mapped_column(String(2))
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


REFERRAL_STATUSES = ("pending", "accepted", "completed", "declined", "failed", "cancelled")


class ServiceReferral(Base):
    """A referral to another provider (R18): consent to share, outcome tracked."""
    __tablename__ = "service_referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(200))
    consent_to_share: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # REFERRAL_STATUSES
    outcome: Mapped[str | None] = mapped_column(Text)
    referred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))


from engine.models.case_decisions import CaseAssessment, CasePlan, CaseReview, ClosureRequest, Conference, Vote  # noqa: E402 - their tables register with the case tables

__all__ = [
    "CaseStatus", "RiskLevel", "CaseStage", "UNRATED", "CASE_STATUSES", "STATUS_NAMES", "ACTIVE_STATUSES",
    "RISK_LEVELS", "CASE_STAGES", "CLOSURE_REASONS", "NO_ACTION_REASONS", "REFERRAL_STATUSES", "Case", "Client",
    "CaseClientLink", "CaseEvent", "CaseNote", "ServiceReferral", "CaseAssessment", "CasePlan", "CaseReview",
    "ClosureRequest", "Conference", "Vote",
]
