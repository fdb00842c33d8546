"""Users, their roles, their teams and who supervises whom."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class Role(Vocabulary):
    """What a person may do; the lanes of the diagrams are named by these values."""
    CASEWORKER = "caseworker", "Caseworker"
    SUPERVISOR = "supervisor", "Supervisor"
    DIRECTOR = "director", "Project director"
    COMMITTEE_MEMBER = "committee_member", "Committee member"
    PROCESS_OWNER = "process_owner", "Process owner"
    CRISIS_TEAM = "crisis_team", "Crisis response team"
    ADMIN = "admin", "Administrator"


ROLES = Role.values()


class Team(Base):
    """A group of staff working together (a field office, a unit). Who supervises whom is
    ``Supervision``; a team is how people are grouped and found."""
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("sso_issuer", "sso_subject", name="uq_users_sso_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # False while on leave: their claimed tasks go back to their roles, and new work
    # (caseworker assignment, crisis backups) passes them by
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_failed_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    # the language chosen for pages, messages, e-mails, forms and task titles (None: the browser's)
    locale: Mapped[str | None] = mapped_column(String(16))
    # the account at an OpenID Connect provider this user signs in with (its iss and sub claims)
    sso_issuer: Mapped[str | None] = mapped_column(String(500))
    sso_subject: Mapped[str | None] = mapped_column(String(255))

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")
    team: Mapped[Team | None] = relationship()

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class AuthSession(Base):
    """One signed-in session: a browser login or an API token. The secret handed out is
    never stored, only its sha256 (``token_hash``); revoking the row ends the session at once
    (logout, a password change, deactivation, a lock-out)."""
    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_revoked", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # api | web
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class Supervision(Base):
    """``supervisor_id`` supervises ``supervisee_id``."""
    __tablename__ = "supervision"

    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    supervisee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class UnlinkedIdentity(Base):
    """An identity at the single sign-on provider that an administrator unlinked from an
    account: it is never linked to that account again by its e-mail address
    (``engine.people.sso_links``)."""
    __tablename__ = "sso_unlinked_identities"
    __table_args__ = (UniqueConstraint("user_id", "sso_issuer", "sso_subject", name="uq_sso_unlinked_identities"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sso_issuer: Mapped[str] = mapped_column(String(500))
    sso_subject: Mapped[str] = mapped_column(String(255))
    unlinked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    unlinked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
