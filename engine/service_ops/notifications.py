"""Notifications: in-app messages to people, and the outbox of their e-mail copies.

Other services call :func:`notify` inside their unit of work, so a notification exists
exactly when the change it announces was committed. Each row whose recipient has an
e-mail address asks for one ``send_notification_email`` job (relayed after the commit);
the job claims the row, sends, and records the outcome, so a mail goes out once even
when its message is delivered twice. Subjects and bodies carry case codes and task
titles only: never a client's name.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import String, and_, case, func, or_, select, update

from engine import clock
from engine.errors import NotFound
from engine.infra.mail import build_message
from engine.models import Announcement, HumanTask, User
from engine.models.ops import Notification, dialect_insert
from engine.service_ops import translations
from engine.service_ops.translations import Words
from engine.service_ops.translations import gettext as t

log = logging.getLogger(__name__)


def _max_length(column: str) -> int:
    """The length of one of the notification table's String columns."""
    column_type = Notification.__table__.c[column].type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"notifications.{column} is not a String column of a set length")
    return column_type.length


SUBJECT_MAX = _max_length("subject")
MAIL_ERROR_MAX = 2000
KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")


def notify(uow, user_ids, kind: str, subject: str | Words, body: str | Words = "", case_code: str | None = None,
           link: str | None = None, dedupe_key: str | None = None) -> int:
    """Notify each (active) user once; returns how many notifications were created.

    With ``dedupe_key`` a user who already has a notification with that key gets no
    second one (safe to call from jobs that may run twice)."""
    return _create(uow, user_ids, kind, subject, body, case_code, link, dedupe_key, mail=True)


def notify_in_app(uow, user_ids, kind: str, subject: str | Words, body: str | Words = "",
                  case_code: str | None = None,
                  link: str | None = None, dedupe_key: str | None = None) -> int:
    """Like :func:`notify` without the e-mail copy (for messages about the mail system itself)."""
    return _create(uow, user_ids, kind, subject, body, case_code, link, dedupe_key, mail=False)


@dataclass(frozen=True)
class _Message:
    """One notification to write: to whom, and what."""
    user_id: int
    kind: str
    subject: str
    body: str
    case_code: str | None
    link: str | None
    dedupe_key: str | None


def _message(user_id: int, kind: str, subject: str, body: str = "", case_code: str | None = None,
             link: str | None = None, dedupe_key: str | None = None) -> _Message:
    if not KIND.fullmatch(kind):
        raise ValueError(f"notification kind {kind!r} must be lower_snake_case, at most 40 characters")
    for name, value in (("dedupe_key", dedupe_key), ("link", link), ("case_code", case_code)):
        limit = _max_length(name)
        if value is not None and len(value) > limit:
            raise ValueError(f"notification {name} is longer than {limit} characters")
    subject = subject if len(subject) <= SUBJECT_MAX else subject[:SUBJECT_MAX - 1] + "…"
    return _Message(int(user_id), kind, subject, body or "", case_code, link, dedupe_key)


def _create(uow, user_ids, kind, subject, body, case_code, link, dedupe_key, mail: bool) -> int:
    """``subject`` and ``body`` are text, or ``translations.Words`` written in each recipient's language."""
    ids = sorted({int(u) for u in user_ids if u is not None})
    if not isinstance(subject, Words) and not isinstance(body, Words):
        template = _message(0, kind, subject, body, case_code, link, dedupe_key)  # checked once, even for nobody
        return _write(uow, [dataclasses.replace(template, user_id=user_id) for user_id in ids], mail)
    languages = _languages(uow.session, set(ids))
    _message(0, kind, _in(subject, None), _in(body, None), case_code, link, dedupe_key)  # checked even for nobody
    return _write(uow, [_message(user_id, kind, _in(subject, languages.get(user_id)), _in(body, languages.get(user_id)),
                                 case_code, link, dedupe_key) for user_id in ids], mail)


def _in(text: str | Words, language: str | None) -> str:
    return text.in_language(language) if isinstance(text, Words) else text


_ROWS_PER_INSERT = 500  # well under any driver's limit of bound parameters


def _write(uow, messages: list[_Message], mail: bool) -> int:
    """Write ``messages`` to their (active) recipients, a user's second one with the same
    dedupe key skipped; each row whose recipient has an e-mail address asks for its e-mail.
    One query of the recipients and one INSERT per few hundred rows, however many."""
    if not messages:
        return 0
    session = uow.session
    emails = dict(session.execute(select(User.id, User.email).where(
        User.id.in_(sorted({m.user_id for m in messages})), User.active)).all())
    now = clock.now()
    rows = [{"user_id": m.user_id, "kind": m.kind, "subject": m.subject, "body": m.body, "case_code": m.case_code,
             "link": m.link, "dedupe_key": m.dedupe_key, "created_at": now,
             "mail_state": "pending" if (mail and emails[m.user_id]) else "none"}
            for m in messages if m.user_id in emails]
    made = 0
    for first in range(0, len(rows), _ROWS_PER_INSERT):
        insert = dialect_insert(session, Notification)
        statement = (insert.values(rows[first:first + _ROWS_PER_INSERT])
                     .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
                     .returning(Notification.id, Notification.mail_state))
        created = session.execute(statement).all()
        for notification_id, mail_state in sorted(created):
            if mail_state == "pending":
                uow.enqueue("send_notification_email", notification_id)
        made += len(created)
    return made


def notify_new_tasks(uow, tasks: list[HumanTask]) -> int:
    """``task_assigned`` to the assignee of each newly created human task (tasks offered
    to a role show up in that role's claimable inbox instead), all in one write. A task
    whose diagram says it is announced in a summary (``announce`` ``summary``: the crisis
    checks, whose fan-out tells each person of theirs in one message) gets none of its own."""
    announced = [(task.assignee_id, task) for task in tasks
                 if task.assignee_id is not None and task.announce != Announcement.SUMMARY]
    languages = _languages(uow.session, {assignee for assignee, _ in announced})
    return _write(uow, [_message(assignee, "task_assigned", _new_task_subject(languages.get(assignee), task),
                                 body=_due_line(task, languages.get(assignee)), case_code=task.case_code,
                                 link=task_link(task.id), dedupe_key=f"task_assigned:{task.id}")
                        for assignee, task in announced], mail=True)


def _languages(session, user_ids: set) -> dict[int, str | None]:
    """Each recipient's chosen language (their messages are written in it)."""
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.locale).where(User.id.in_(user_ids))).all())


def _new_task_subject(language: str | None, task: HumanTask) -> str:
    if task.case_code:
        return t(language, "New task: %(title)s (case %(code)s)", title=task.title, code=task.case_code)
    return t(language, "New task: %(title)s", title=task.title)


def task_link(task_id: str) -> str:
    return f"/tasks/{task_id}"


def _due_line(task: HumanTask, language: str | None = None) -> str:
    """When the task falls due, as the pages write a time (UTC), for people to read."""
    if not task.due_at:
        return ""
    return t(language, "Due %(when)s UTC.", when=translations.when(language, task.due_at))


# -- reading and marking (the in-app inbox) -------------------------------------------
@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    total: int
    unread: int


def list_notifications(session, user_id: int, unread_only: bool = False, limit: int = 50,
                       offset: int = 0) -> NotificationPage:
    """The caller's notifications: unread first, then newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    unread = session.scalar(select(func.count()).where(Notification.user_id == user_id,
                                                       Notification.read_at.is_(None)))
    ordered = query.order_by(case((Notification.read_at.is_(None), 0), else_=1),
                             Notification.created_at.desc(), Notification.id.desc())
    return NotificationPage(list(session.scalars(ordered.limit(limit).offset(offset))), total, unread)


def mark_read(uow, user_id: int, notification_id: int) -> Notification:
    """Mark one of the caller's notifications read (someone else's is a 404). Commits."""
    row = uow.session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"no notification {notification_id}")
    if row.read_at is None:
        row.read_at = clock.now()
    uow.commit()
    return row


def mark_all_read(uow, user_id: int) -> int:
    """Mark every notification of the caller read; returns how many. Commits."""
    marked = uow.session.execute(update(Notification).where(Notification.user_id == user_id,
                                                            Notification.read_at.is_(None))
                                 .values(read_at=clock.now())).rowcount
    uow.commit()
    return marked


# -- the e-mail copies -------------------------------------------------------------------
@dataclass(frozen=True)
class OutgoingMail:
    notification_id: int
    message: EmailMessage


def claim_mail(uow, notification_id: int, mail_from: str, public_url: str,
               stale_claim: dt.timedelta) -> OutgoingMail | None:
    """Take one e-mail for sending (pending, failed, or claimed by a sender that died
    more than ``stale_claim`` ago). None when it is not ours to send: sent already,
    being sent by someone else, or nobody to send it to. Commits the claim (before anyone
    talks to the SMTP server)."""
    session = uow.session
    row = session.get(Notification, notification_id)
    if row is None:
        return None
    now = clock.now()
    claimable = or_(Notification.mail_state.in_(("pending", "failed")),
                    and_(Notification.mail_state == "sending", Notification.mail_claimed_at < now - stale_claim))
    claimed = session.execute(update(Notification).where(Notification.id == notification_id, claimable)
                              .values(mail_state="sending", mail_claimed_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        uow.commit()
        return None
    session.refresh(row)
    user = session.get(User, row.user_id)
    if user is None or not user.active or not user.email:
        row.mail_state = "none"
        uow.commit()
        return None
    language = user.locale  # the recipient's: the framing of the mail is in their language
    link = public_url.rstrip("/") + row.link if row.link else ""
    body = "\n\n".join(part for part in (
        row.body, t(language, "Case: %(code)s", code=row.case_code) if row.case_code else "",
        t(language, "Open: %(link)s", link=link) if link else "",
        t(language, "This message was sent by the casework system; please do not reply.")) if part)
    domain = mail_from.rsplit("@", 1)[-1].strip("> ") or "localhost"
    message_id = f"<notification-{row.id}.{int(row.created_at.timestamp())}@{domain}>"
    return OutgoingMail(row.id, build_message(mail_from, user.email, row.subject, body, message_id))


def mark_mail_sent(uow, notification_id: int) -> None:
    """Commits."""
    _set_mail_state(uow, notification_id, "sent", mailed_at=clock.now(), mail_error=None)
    uow.commit()


def mark_mail_skipped(uow, notification_id: int) -> None:
    """No SMTP server is configured: the notification stays in-app only. Commits."""
    uow.session.execute(update(Notification).where(Notification.id == notification_id,
                                                   Notification.mail_state.in_(("pending", "failed")))
                        .values(mail_state="skipped"))
    uow.commit()


def mark_mail_retrying(uow, notification_id: int, error: str) -> None:
    """A send failed: back to pending so the retried job can claim it again. Commits."""
    _set_mail_state(uow, notification_id, "pending", mail_error=error[:MAIL_ERROR_MAX])
    uow.commit()


def mark_mail_failed(uow, notification_id: int, error: str) -> None:
    """The last retry failed (an incident records it; retrying the incident resends). A
    building block of the incident recorder's transaction."""
    _set_mail_state(uow, notification_id, "failed", mail_error=error[:MAIL_ERROR_MAX])


def _set_mail_state(uow, notification_id: int, state: str, **values) -> None:
    uow.session.execute(update(Notification).where(Notification.id == notification_id)
                        .values(mail_state=state, **values))


def mails_to_resend(session, lost_after: dt.timedelta, stale_claim: dt.timedelta, limit: int) -> list[int]:
    """E-mails whose job seems lost: pending with no attempt for ``lost_after``, or
    claimed by a sender that died (no outcome for ``stale_claim``)."""
    now = clock.now()
    last_touch = func.coalesce(Notification.mail_claimed_at, Notification.created_at)
    query = (select(Notification.id)
             .where(or_(and_(Notification.mail_state == "pending", last_touch < now - lost_after),
                        and_(Notification.mail_state == "sending", Notification.mail_claimed_at < now - stale_claim)))
             .order_by(Notification.id).limit(limit))
    return list(session.scalars(query))
