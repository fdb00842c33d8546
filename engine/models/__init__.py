"""Every table, importable from one place (Alembic and Flask-SQLAlchemy need them all)."""
from engine.models import backups, case_counts, complaints, crisis, handovers, ops, supervision  # noqa: F401 - their tables register on Base.metadata
from engine.models.base import Base, UTCDateTime, Vocabulary
from engine.models.case import (
    CASE_STAGES,
    CASE_STATUSES,
    RISK_LEVELS,
    UNRATED,
    Case,
    CaseClientLink,
    CaseEvent,
    CaseNote,
    CaseStage,
    CaseStatus,
    Client,
    RiskLevel,
    ServiceReferral,
    Vote,
)
from engine.models.people import ROLES, AuthSession, Supervision, User, UserRole
from engine.models.process import (
    InstanceStatus,
    ProcessInstance,
    ProcessModel,
    ProcessModelFile,
    insert_instances_before_their_rows,
)
from engine.models.work import (
    PRIORITY_BY_RISK,
    Announcement,
    AuditChainHead,
    AuditEvent,
    HumanTask,
    OutboxMessage,
    TaskState,
    Timer,
    TimerState,
)

__all__ = [
    "Base", "UTCDateTime", "Vocabulary", "InstanceStatus", "TaskState", "TimerState", "CaseStatus", "CaseStage",
    "RiskLevel", "UNRATED", "ROLES", "User", "UserRole", "Supervision", "AuthSession", "AuditChainHead",
    "ProcessModel", "ProcessModelFile", "ProcessInstance",
    "HumanTask", "Announcement", "Timer", "OutboxMessage", "AuditEvent", "PRIORITY_BY_RISK",
    "CASE_STAGES", "CASE_STATUSES", "RISK_LEVELS", "Case", "Client", "CaseClientLink", "CaseEvent", "CaseNote",
    "ServiceReferral", "Vote",
]

insert_instances_before_their_rows(Base)  # every model module is imported above
