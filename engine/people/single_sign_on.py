"""Signing in through the organisation's OpenID Connect provider (single sign-on).

The web layer runs the authorization-code flow and verifies the provider's ID token
(webui.pages.single_sign_on); it hands over the ``Identity`` the token vouches for, and this
module decides who that is here. Who signs in, the first rule that applies:

1. **Linked**: the account linked to this identity (the token's ``iss`` and ``sub``; the
   provider's own id of the person, which never changes).
2. **Same verified e-mail**: otherwise, the one account here whose e-mail address is the
   identity's (letter case aside), if the provider says it verified that address
   (``email_verified``) and that account is linked to no other identity. It is linked now, and
   rule 1 finds it from then on (a later change of address at the provider changes nothing).
   Two accounts with that address: nobody (an administrator sorts it out). Never an identity
   an administrator unlinked from that account (``engine.people.sso_links``). Usernames are
   never matched: people may choose theirs at a provider.
3. **New account**: otherwise, only if the operator allows it (``OIDC_CREATE_USERS``, off by
   default) and the person's groups give them at least one role here.
4. Otherwise nobody: the sign-in is refused and nothing is created.

A deactivated account, or one an administrator locked, is refused (``Refused``, 403) and
nothing about it changes (no link, no roles, no session); the refusal is audited.

Roles follow the provider's groups at every sign-in (``Policy.role_map``). The roles the map
names are the provider's to give: the account gets exactly those of them its groups map to,
and loses the others, **also when an administrator gave one by hand** (claimed tasks for a
lost role go back to that role, as when an administrator takes it away). Roles the map does
not name are this service's alone: set by hand, kept at every sign-in. When no role at all
would remain, the mapped roles are taken away and the sign-in is refused. A change that
would leave the service without an active administrator is refused and changes nothing.

The session started is the one a password sign-in starts (``accounts.open_session``), so
signing out, deactivation and locks end it the same way.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from engine import clock
from engine.errors import Forbidden
from engine.models import User
from engine.models.people import ROLES, Role
from engine.people import accounts, administration, directory, sessions, sso_links

MAX_GROUPS = 500  # groups read from one token; a person in more is not one we serve
MAX_CLAIM = 254
_NOT_A_USERNAME = re.compile(r"[^A-Za-z0-9._@-]+")


class Refused(Forbidden):
    """This identity may not sign in here (403). ``reason``: ``deactivated``, ``locked``,
    ``no_account``, ``no_role`` or ``last_admin``; the web layer says it in words."""

    def __init__(self, reason: str, message: str):
        super().__init__(message, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """A person as the provider vouched for them in a verified ID token."""
    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    groups: tuple[str, ...] = ()
    name: str = ""
    preferred_username: str = ""

    @classmethod
    def from_claims(cls, claims: Mapping[str, object], groups_claim: str = "groups") -> Identity:
        """The identity in an ID token's claims; ``groups_claim`` may be a dotted path
        (``realm_access.roles``). A group list given as one string is split on commas."""
        def text(name: str) -> str:
            value = claims.get(name)
            return value.strip()[:MAX_CLAIM] if isinstance(value, str) else ""

        verified = claims.get("email_verified")
        return cls(issuer=str(claims["iss"]), subject=str(claims["sub"]), email=text("email") or None,
                   email_verified=verified is True or (isinstance(verified, str) and verified.lower() == "true"),
                   groups=_groups(claims, groups_claim), name=text("name"),
                   preferred_username=text("preferred_username"))


@dataclass(frozen=True)
class Policy:
    """What the operator configured: provider groups → roles here, and whether an unknown
    person gets an account."""
    role_map: tuple[tuple[str, str], ...] = ()
    create_users: bool = False

    @property
    def managed_roles(self) -> frozenset[str]:
        """The roles the provider gives and takes (the others are set by hand here)."""
        return frozenset(role for _group, role in self.role_map)

    def roles_for(self, groups: Iterable[str]) -> frozenset[str]:
        held = set(groups)
        return frozenset(role for group, role in self.role_map if group in held)


def parse_role_map(text: str) -> tuple[tuple[str, str], ...]:
    """``"cw-team=caseworker, supervisors=supervisor"`` → pairs; a group may give several
    roles (name it once per role). ``ValueError`` naming an entry that is not ``group=role``
    or a role that does not exist, so a mistyped map stops the app at start-up."""
    pairs = []
    for entry in (part.strip() for part in (text or "").split(",")):
        if not entry:
            continue
        group, sep, role = (piece.strip() for piece in entry.rpartition("="))
        if not sep or not group or not role:
            raise ValueError(f"OIDC_ROLE_MAP: {entry!r} is not group=role")
        if role not in ROLES:
            raise ValueError(f"OIDC_ROLE_MAP: {role!r} is not a role (roles: {', '.join(ROLES)})")
        pairs.append((group, role))
    return tuple(pairs)


def sign_in(uow, identity: Identity, policy: Policy,
            lifetime: dt.timedelta = sessions.LIFETIME) -> accounts.SignedIn:
    """Use case: start a browser session for the person the provider vouched for, by the
    rules of this module's docstring, or ``Refused`` (403). Audited; commits either way."""
    user = _linked(uow.session, identity) or _by_verified_email(uow, identity)
    if user is None:
        user = _new_account(uow, identity, policy)
    else:
        _refuse_if_barred(uow, user, identity)
        wanted = _roles_after(uow, user, identity, policy)
        if user.sso_subject is None:
            user.sso_issuer, user.sso_subject = identity.issuer, identity.subject
            uow.audit(None, "sso_linked", "user", user.id, issuer=identity.issuer)
        administration.replace_roles(uow, None, user, wanted, source="single_sign_on")
        if not wanted:
            raise _refuse(uow, "no_role", "your groups at the provider give you no role here", "user", user.id,
                          identity)
    signed_in = accounts.open_session(uow, user, sessions.SessionKind.WEB, lifetime, method="single_sign_on",
                                      issuer=identity.issuer)
    uow.commit()
    return signed_in


def _linked(session, identity: Identity) -> User | None:
    return session.scalar(select(User).where(User.sso_issuer == identity.issuer,
                                             User.sso_subject == identity.subject))


def _by_verified_email(uow, identity: Identity) -> User | None:
    """Rule 2: the one account with this verified address, not linked to anyone else."""
    if not identity.email or not identity.email_verified:
        return None
    found = list(uow.session.scalars(select(User).where(func.lower(User.email) == identity.email.lower())
                                     .limit(2)))
    if len(found) != 1:
        if found:
            uow.audit(None, "sso_login_refused", "sso_identity", identity.subject, issuer=identity.issuer,
                      reason="email_shared_by_several_accounts")
        return None
    user = found[0]
    if user.sso_subject is not None:  # someone else's: linked to another identity
        return None
    if sso_links.was_unlinked(uow.session, user.id, identity.issuer, identity.subject):
        uow.audit(None, "sso_login_refused", "user", user.id, issuer=identity.issuer, reason="identity_unlinked")
        return None  # an administrator unlinked this identity from that account
    return user


def _refuse(uow, reason: str, message: str, subject_type: str, subject_id, identity: Identity) -> Refused:
    uow.audit(None, "sso_login_refused", subject_type, subject_id, issuer=identity.issuer, reason=reason)
    uow.commit()
    return Refused(reason, message)


def _refuse_if_barred(uow, user: User, identity: Identity) -> None:
    if not user.active:
        raise _refuse(uow, "deactivated", "this account is deactivated", "user", user.id, identity)
    locked_until = clock.as_utc(user.locked_until)
    if locked_until is not None and locked_until > clock.now():
        raise _refuse(uow, "locked", "this account is locked by an administrator", "user", user.id, identity)


def _roles_after(uow, user: User, identity: Identity, policy: Policy) -> frozenset[str]:
    """The roles ``user`` holds after this sign-in: those the map names follow the groups,
    the others stay. Refused when that would leave no active administrator."""
    wanted = (frozenset(user.roles) - policy.managed_roles) | policy.roles_for(identity.groups)
    admin = Role.ADMIN.value
    if admin in user.roles and admin not in wanted and directory.ids_with_roles(uow.session, [admin]) == [user.id]:
        raise _refuse(uow, "last_admin", "the service needs at least one active administrator", "user", user.id,
                      identity)
    return wanted


def _new_account(uow, identity: Identity, policy: Policy) -> User:
    """Rule 3, or the refusal of rule 4."""
    if not policy.create_users:
        raise _refuse(uow, "no_account", "no account here is linked to this identity", "sso_identity",
                      identity.subject, identity)
    roles = policy.roles_for(identity.groups)
    if not roles:
        raise _refuse(uow, "no_role", "your groups at the provider give you no role here", "sso_identity",
                      identity.subject, identity)
    username = _free_username(uow.session, identity)
    # nobody knows this password: the account signs in through the provider (an administrator
    # may set a password later)
    user = accounts.create_user(uow, username, secrets.token_urlsafe(32), sorted(roles),
                                display_name=identity.name[:administration.MAX_DISPLAY_NAME] or username,
                                email=identity.email if identity.email_verified else None)
    user.sso_issuer, user.sso_subject = identity.issuer, identity.subject
    uow.audit(None, "user_created", "user", user.id, roles=sorted(roles), source="single_sign_on",
              issuer=identity.issuer)
    return user


def _free_username(session, identity: Identity) -> str:
    """The provider's username or the e-mail's local part, made fit for a username here and
    numbered when taken."""
    for wanted in (identity.preferred_username, (identity.email or "").partition("@")[0], "sso-user"):
        base = _NOT_A_USERNAME.sub("-", wanted).strip("-._@")[:70]
        if base:
            break
    candidate, number = base, 1
    while directory.account_named(session, candidate) is not None:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _groups(claims: Mapping[str, object], path: str) -> tuple[str, ...]:
    value: object = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        return ()
    return tuple(g.strip() for g in value[:MAX_GROUPS] if isinstance(g, str) and g.strip())
