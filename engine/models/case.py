"""Case records (DOMAIN §3), kept in tables; workflow data holds only the case code.

The client's identity lives in ``clients`` and is tied to a case only through
``case_client_links`` (R05): lists and case files show codes, and the link is read only
by people who need to know, every read audited.

The decisions taken along the way (assessments, plans, reviews, closures, committee
conferences and their votes) are in ``engine.models.case_decisions``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, false
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
    """The risk rating of 004 §6.2, most urgent first (``RISK_LEVELS`` keeps this order)."""
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
RISK_LEVELS = RiskLevel.values()  # most urgent first: crisis checks, task priorities
CASE_STAGES = CaseStage.values()


class ClosureReason(Vocabulary):
    """Why a case was closed (DOMAIN §2 step 11; R21, R52), in the closure request's words."""
    GOALS_MET = "goals_met", "Goals met and the child is safe"
    GOALS_NO_LONGER_RELEVANT = ("goals_no_longer_relevant",
                                "The goals are no longer relevant or feasible, and no new goals are needed")
    NO_LONGER_WANTS_SERVICES = "no_longer_wants_services", "The client no longer wants services, and it is safe"
    AGED_OUT = "aged_out", "Turned 18: aged out, on a transition plan"
    DEATH = "death", "Death of the child"
    TRANSFER = "transfer", "Transfer to another agency"
    MOVED_AWAY_OR_UNTRACEABLE = "moved_away_or_untraceable", "Moved away or untraceable"


class NoActionReason(Vocabulary):
    """Why a referral ended with "no action required" (R01)."""
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    ADMISSION_REJECTED = "admission_rejected", "Not admitted by the committee"
    CONSENT_REFUSED = "consent_refused", "Consent refused"
    LOW_RISK = "low_risk", "Low risk: information or referral only"


class ReferralSource(Vocabulary):
    """Where a referral came from (DOMAIN §2 step 1). The API also takes other words."""
    GOVERNMENT = "government", "Government authority"
    NGO = "ngo", "NGO"
    COMMUNITY_ORGANISATION = "community_organisation", "Community organisation"
    UN_AGENCY = "un_agency", "UN agency"
    COMMUNITY_MEMBER = "community_member", "Community member"
    SELF_REFERRAL = "self_referral", "Self-referral"
    OTHER_SECTOR_STAFF = "other_sector_staff", "Staff of another sector"


class ReferralStatus(Vocabulary):
    """Where a referral to another provider stands (R18)."""
    PENDING = "pending", "Waiting for the provider"
    ACCEPTED = "accepted", "Accepted, ongoing"
    COMPLETED = "completed", "Service provided"
    DECLINED = "declined", "Declined by the provider"
    FAILED = "failed", "Did not happen"
    CANCELLED = "cancelled", "Cancelled"


class CaseEventKind(Vocabulary):
    """What a line of the case's timeline records."""
    STATUS = "status", "Status"
    RISK = "risk", "Risk level"
    ASSIGNMENT = "assignment", "Assignment"
    STAGE = "stage", "Stage"
    FORM = "form", "Form"
    NOTE = "note", "Note"
    CONTACT = "contact", "Contact"
    URGENT = "urgent", "Urgent"
    REFERRAL = "referral", "Referral"
    CONFERENCE = "conference", "Conference"
    VOTE = "vote", "Vote"
    CLOSURE = "closure", "Closure"
    ESCALATION = "escalation", "Escalation"
    INCIDENT = "incident", "Incident"


CLOSURE_REASONS = ClosureReason.values()
NO_ACTION_REASONS = NoActionReason.values()


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_caseworker_status", "caseworker_id", "status"),
        Index("ix_cases_status_risk", "status", "risk_level"),
        Index("ix_cases_supervisor_status", "supervisor_id", "status"),
        Index("ix_cases_urgent_since", "urgent_since"),
        Index("ix_cases_updated", "updated_at", "id"),  # the case list, newest first
        Index("ix_cases_caseworker_code", "caseworker_id", "code"),  # the "hand a case over" list
        Index("ix_cases_next_review", "date_next_review"),  # reviews due
        # the dashboard's counts of the team's cases, read off the index alone (migration 0019)
        Index("ix_cases_team_counts", "supervisor_id", "caseworker_id", "status", "risk_level"),
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
    # monitoring since the current risk rating (R43-R46): when it started, when the first action
    # (high: the immediate action) and the mitigation of imminent risks (medium) were recorded
    date_monitoring_started: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_first_action: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    date_risks_mitigated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # R46: a first action or follow-up was missed; the case is urgent until that work is done
    urgent_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    urgent_reason: Mapped[str | None] = mapped_column(String(200))
    # R48: registration without consent or assent, on the legal mandate a supervisor recorded
    legal_mandate_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    legal_mandate_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Client(Base):
    """Who the person is. Never joined into lists; reached only through the link.
    ``name_key`` is the name normalised for finding likely duplicate referrals (issue 13:
    case-folded, accents and spaces folded; ``engine.case.intake.name_key``)."""
    __tablename__ = "clients"
    __table_args__ = (Index("ix_clients_name_key_birth", "name_key", "date_of_birth"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str | None] = mapped_column(String(300))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(20))
    # how the service may reach them (seed 000 client communication): only with their consent
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    consent_to_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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


class NoteKind(Vocabulary):
    """What a case note records (DOMAIN §3: each contact, direct or indirect)."""
    CONTACT = "contact", "Contact"
    NOTE = "note", "Note"
    FOLLOW_UP = "follow_up", "Follow-up"  # written by the follow-up task, not by hand


class ContactType(Vocabulary):
    DIRECT = "direct", "Direct (with the child or family)"
    INDIRECT = "indirect", "Indirect (with others, about the child)"


class ContactMethod(Vocabulary):
    """How a contact was made (the follow-up form's methods, and in the community)."""
    HOME_VISIT = "home_visit", "Home visit"
    OFFICE = "office", "At the office"
    PHONE = "phone", "Phone"
    REMOTE = "remote", "Other remote"
    COMMUNITY = "community", "In the community"


class CaseNote(Base):
    """A contact or a note (R33: carries date, code, status, caseworker, supervisor).
    ``at`` is when it was written; a contact also says when it happened (``contact_at``)
    and whether it was direct or indirect (``contact_type``)."""
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40), default="contact")
    contact_method: Mapped[str | None] = mapped_column(String(40))
    contact_type: Mapped[str | None] = mapped_column(String(20))  # ContactType
    contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text, default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    case_status: Mapped[str] = mapped_column(String(2))
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


REFERRAL_STATUSES = ReferralStatus.values()


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
    "RISK_LEVELS", "CASE_STAGES", "CLOSURE_REASONS", "NO_ACTION_REASONS", "ClosureReason", "NoActionReason",
    "ReferralSource", "ReferralStatus", "CaseEventKind",
    "REFERRAL_STATUSES", "Case", "Client",
    "CaseClientLink", "CaseEvent", "CaseNote", "NoteKind", "ContactType", "ContactMethod", "ServiceReferral",
    "CaseAssessment", "CasePlan", "CaseReview",
    "ClosureRequest", "Conference", "Vote",
]
