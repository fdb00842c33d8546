"""Crisis tables (DOMAIN §4, rules R35-R42): declarations, the per-case crisis checks,
follow-ups found during a disruption, the disruption log, per-case crisis notes and the
pre-crisis readiness schedule.

- ``crises``: one row per declared disruption. ``active_slot`` is 1 while the crisis is
  active and NULL afterwards; its unique constraint makes a second active declaration
  impossible even when two requests race (R35, "never doubled").
- ``crisis_case_checks``: one row per (crisis, case) the disruption affects, claimed
  before the case's check instance is started, so a repeated message or a crashed
  worker never gives a case two checks (R37).
- ``crisis_follow_ups``: each follow-up found due or missed during the disruption, who
  held it, who got it, and how its due date moved in recovery (R38, R40).
- ``disruption_log_entries`` and ``crisis_case_notes`` are append-only (R39): the ORM
  refuses updates and deletes, and no API offers them.
- ``readiness_activities``: the recurring pre-crisis duties, one row per activity with
  the instance that carries its next occurrence (R41).
- ``sensitive_record_locks``: a kind of sensitive record the crisis team locked (R50),
  until a director lifts the lock.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class CrisisKind(Vocabulary):
    """The kinds of disruption a declaration names (R35)."""
    NATURAL_DISASTER = "natural_disaster", "Natural disaster"
    IT_FAILURE = "it_failure", "IT failure"
    PANDEMIC = "pandemic", "Pandemic"
    STAFFING_SHORTAGE = "staffing_shortage", "Staffing shortage"
    SECURITY_BREACH = "security_breach", "Security breach"
    OTHER = "other", "Other"


class SubFunction(Vocabulary):
    """The sub-functions of CBF-5 (seed 000); the code is the one the BCP uses."""
    INTAKE = "5.1", "Client Intake & Assessment"
    PLANNING = "5.2", "Case Management Planning"
    SUPPORT_SERVICES = "5.3", "Coordination of Support Services"
    MONITORING = "5.4", "Monitoring & Follow-up"
    DOCUMENTATION = "5.5", "Documentation & Reporting"
    DISCHARGE = "5.6", "Client Discharge & Transition"


class CrisisStatus(Vocabulary):
    RESUMPTION = "resumption", "Resumption (first 24 hours)"
    RECOVERY = "recovery", "Recovery"
    CLOSED = "closed", "Closed"


class LogEntryKind(Vocabulary):
    """What a line of the disruption log records (R39)."""
    INCIDENT = "incident", "Incident"
    ACTION = "action", "Action"
    DECISION = "decision", "Decision"
    SERVICE_FAILURE = "service_failure", "Service failure"
    DELAY = "delay", "Delay"
    COMMUNICATION = "communication", "Communication"
    UPDATE = "update", "Update"


class CrisisNoteKind(Vocabulary):
    """What a per-case crisis note records (R39)."""
    DELAY = "delay", "Delay"
    ADJUSTMENT = "adjustment", "Adjustment"
    ALTERNATIVE_METHOD = "alternative_method", "Alternative method used"
    FOLLOW_UP_ACTION = "follow_up_action", "Follow-up action"
    CHECK = "check", "Crisis check"


class AlternativeMethod(Vocabulary):
    """Ways of keeping up a service during a disruption (seed 000, RESUMPTION)."""
    VIRTUAL_CASE_MANAGEMENT = "virtual_case_management", "Virtual case management"
    PHONE_FOLLOW_UP = "phone_follow_up", "Follow-up by phone"
    SMS_OR_EMAIL = "sms_or_email", "SMS or email"
    REMOTE_WORK = "remote_work", "Remote work"
    BACKUP_STAFF = "backup_staff", "Backup staff"
    TEMPORARY_SITE = "temporary_site", "A temporary site"
    PARTNER_DELIVERY = "partner_delivery", "Delivered by a partner"
    OTHER = "other", "Other"


CRISIS_KINDS = CrisisKind.values()
SUB_FUNCTIONS = {function.value: function.label for function in SubFunction}
LOG_ENTRY_KINDS = LogEntryKind.values()
CASE_NOTE_KINDS = CrisisNoteKind.values()
ALTERNATIVE_METHODS = AlternativeMethod.values()


class Crisis(Base):
    """A declared disruption of CBF-5 and where its BCP workflow stands."""
    __tablename__ = "crises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    affected_functions: Mapped[str] = mapped_column(String(100))  # "5.1,5.4"
    status: Mapped[str] = mapped_column(String(20), default="resumption")  # resumption | recovery | closed
    # 1 while a real disruption is active, 2 while a drill is (one of each at most), else NULL
    active_slot: Mapped[int | None] = mapped_column(Integer, unique=True)
    drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # R41, R54
    staff_instructions: Mapped[str | None] = mapped_column(Text)  # what staff are to do (the banner)
    scope_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # +1 per scope change
    lessons_learned: Mapped[str | None] = mapped_column(Text)  # from the lessons-learned task (R40)
    declared_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    resumption_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resumption_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resumption_confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    communication_lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    impact_parameters: Mapped[str] = mapped_column(Text, default="{}")  # from the diagram, for the fan-out job
    affected_cases: Mapped[int | None] = mapped_column(Integer)  # set when the fan-out is planned
    checks_planned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def functions(self) -> list[str]:
        return [f for f in self.affected_functions.split(",") if f]

    @property
    def active(self) -> bool:
        return self.status != CrisisStatus.CLOSED


class CrisisCaseCheck(Base):
    """One affected case's crisis check: claimed (planned), then its instance started."""
    __tablename__ = "crisis_case_checks"
    __table_args__ = (
        UniqueConstraint("crisis_id", "case_id"),
        Index("ix_crisis_case_checks_crisis_state", "crisis_id", "state"),
        Index("ix_crisis_case_checks_instance_id", "instance_id"),  # the inbox: is this task a crisis check?
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_code: Mapped[str] = mapped_column(String(40))
    risk_level: Mapped[str | None] = mapped_column(String(10))
    in_crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_review: Mapped[bool] = mapped_column(Boolean, default=False)
    check_order: Mapped[int] = mapped_column(Integer)  # 1 = first (bcp_check_priority)
    rank: Mapped[int] = mapped_column(Integer)  # position in the whole fan-out, 1-based
    check_within_hours: Mapped[int] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    backup: Mapped[bool] = mapped_column(Boolean, default=False)  # assignee stands in for the caseworker
    state: Mapped[str] = mapped_column(String(20), default="planned")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    planned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client_reached: Mapped[bool | None] = mapped_column(Boolean)
    client_safe: Mapped[bool | None] = mapped_column(Boolean)
    reassessment_needed: Mapped[bool | None] = mapped_column(Boolean)
    reassessed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # the client reached (time to reach)


class CrisisFollowUp(Base):
    """A follow-up (a ready human task of an open case) due or missed during the
    disruption: found, kept or reassigned (R38), rescheduled in recovery (R40)."""
    __tablename__ = "crisis_follow_ups"
    __table_args__ = (UniqueConstraint("crisis_id", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"))
    case_code: Mapped[str] = mapped_column(String(40))
    original_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    action: Mapped[str] = mapped_column(String(20))  # kept | reassigned | unassigned
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rescheduled_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rescheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class DisruptionLogEntry(Base):
    """One timestamped entry of the disruption log (R39). Append-only."""
    __tablename__ = "disruption_log_entries"
    __table_args__ = (Index("ix_disruption_log_entries_crisis_at", "crisis_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: written by the workflow
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)


class CrisisCaseNote(Base):
    """How the disruption affected one case: a delay, an adjustment, an alternative
    method used, a follow-up action for after restoration (R39). Append-only."""
    __tablename__ = "crisis_case_notes"
    __table_args__ = (Index("ix_crisis_case_notes_crisis_case", "crisis_id", "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_code: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    alternative_methods: Mapped[str] = mapped_column(String(300), default="")  # comma-separated
    text: Mapped[str] = mapped_column(Text, default="")


class ReadinessActivity(Base):
    """A recurring pre-crisis duty (R41) and the instance carrying its next occurrence."""
    __tablename__ = "readiness_activities"

    activity: Mapped[str] = mapped_column(String(60), primary_key=True)
    every_days: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_outcome: Mapped[str] = mapped_column(Text, default="")


class SensitiveRecordLock(Base):
    """A kind of the most sensitive records the system holds, locked on an evacuation or a
    breach (R50) from the BCP's record step until a director lifts it. ``held_kind`` is the
    kind while the lock holds and NULL once lifted: its unique constraint keeps one lock
    per kind, as ``crises.active_slot`` keeps one active crisis."""
    __tablename__ = "sensitive_record_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    held_kind: Mapped[str | None] = mapped_column(String(40), unique=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), index=True)
    locked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unlocked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    unlocked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ImmutableRecordError(Exception):
    """An attempt to change or delete an append-only crisis record."""


def _refuse_change(mapper, connection, target):
    raise ImmutableRecordError(f"{type(target).__name__} {target.id} is append-only: it cannot be changed or deleted")


for _model in (DisruptionLogEntry, CrisisCaseNote):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)


from engine.models.crisis_reach import (  # noqa: E402,F401 - their tables register with the crisis tables
    ContactChannel,
    ContactState,
    CrisisClientContact,
    CrisisStaffAbsence,
    CrisisTaskMove,
)
