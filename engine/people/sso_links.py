"""Unlinking an account from its identity at the single sign-on provider.

An administrator unlinks an account when the link is wrong or no longer wanted: a shared
mailbox linked the wrong person by its verified e-mail address, the person has a new account
at the provider, or they should sign in with a password only. The account keeps everything
else (roles, cases, history); every sign-in of it ends at once, since whoever came in through
that identity may not be its owner; and the identity unlinked is remembered
(``sso_unlinked_identities``), so that the e-mail rule of ``engine.people.single_sign_on``
never links it to this account again. Another identity with the same verified address can
still be linked, and the unlinked one can still get an account of its own where the operator
lets the provider create accounts. An account made by single sign-on has a password nobody
knows: after an unlink it signs in once an administrator sets one.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.models import User
from engine.models.people import UnlinkedIdentity
from engine.people import sessions


def unlink(uow, actor_id: int | None, user: User) -> int:
    """Building block (``administration.change_person``, which calls it only for a linked
    account): ``user`` is no longer linked to its identity at the provider, which is remembered
    as unlinked from it; every session and token of theirs ends. Returns how many ended.
    Audited; does not commit."""
    assert user.sso_issuer is not None and user.sso_subject is not None, "only a linked account is unlinked"
    uow.session.add(UnlinkedIdentity(user_id=user.id, sso_issuer=user.sso_issuer, sso_subject=user.sso_subject,
                                     unlinked_by=actor_id))
    uow.audit(actor_id, "sso_unlinked", "user", user.id, issuer=user.sso_issuer)
    user.sso_issuer = user.sso_subject = None
    return sessions.end_all(uow, user.id, sessions.EndReason.SSO_UNLINKED, actor_id=actor_id)


def was_unlinked(session, user_id: int, issuer: str, subject: str) -> bool:
    """An administrator unlinked this identity from this account once: it is not linked to it
    again by e-mail."""
    return session.scalar(select(UnlinkedIdentity.id).where(
        UnlinkedIdentity.user_id == user_id, UnlinkedIdentity.sso_issuer == issuer,
        UnlinkedIdentity.sso_subject == subject).limit(1)) is not None
