"""Contact with the clients of affected cases (seed 000 RESUMPTION §3 "inform clients
(SMS, email, phone)"; R39): per case, every contact attempted and made.

- The Crisis Communication Lead (or the crisis team) sends a message template to every
  affected case's client (:func:`send_template`): by e-mail where the client has an
  address and has consented to be contacted, else by SMS where they have a phone number
  and have consented, else the case is marked "call or visit needed" for the person doing
  its crisis check. Each is a ``crisis_client_contacts`` row; a case is sent the same
  template once. The messages leave through the task queue after the commit
  (``crisis_send_client_messages``): :func:`claim_messages` takes the rows (queued ->
  sending, committed before anyone talks to a server), :func:`deliver` sends them (SMTP,
  the SMS sender), :func:`record_outcomes` writes sent or failed.
- A crisis check records the contact it made or tried (``records.record_contact``), and
  the people on a case may add a call, visit or message they made
  (:func:`record_contact_attempt`).

A drill contacts no client: its rows say what would have been sent (state ``drill``),
nothing is queued. Reading a client's address to send is audited per case, as every read
of a case file is; the rows carry the case code, never the address.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update

from engine import clock
from engine.crisis import labels
from engine.crisis.declaration import VIEW_ROLES, add_system_entry, load_crisis, require_role
from engine.crisis.message_templates import MessageTemplate, Templates, load_templates
from engine.crisis.records import _case_and_check, _require_need_to_know
from engine.crisis.sms import DeliveryFailed, EmailSender, SmsSender
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import CaseClientLink, Client
from engine.models.crisis import (
    ContactChannel,
    ContactState,
    Crisis,
    CrisisCaseCheck,
    CrisisClientContact,
    CrisisStatus,
)
from engine.people.directory import get_user
from engine.service_ops.translations import N_

SEND_ROLES = ("crisis_team",)
MESSAGE_BATCH = 50  # messages one job sends: a retried job repeats little
NOTE_MAX = 1000
_SENT_ONCE = (ContactState.QUEUED, ContactState.SENDING, ContactState.SENT, ContactState.DRILL,
              ContactState.NEEDS_PERSONAL_CONTACT)


def templates_for(templates_dir: Path, crisis: Crisis) -> list[MessageTemplate]:
    return load_templates(templates_dir).for_kind(crisis.kind)


def resume_by_text(crisis: Crisis) -> str:
    due = crisis.resumption_due_at
    return due.strftime("%-d %b %Y, %H:%M UTC") if due else "as soon as possible"


def _channel_for(client: Client | None) -> str | None:
    if client is None or not client.consent_to_contact:
        return None
    if client.email:
        return ContactChannel.EMAIL
    if client.phone:
        return ContactChannel.SMS
    return None


def send_template(uow, actor_id: int, crisis_id: int, template_id, templates_dir: Path) -> dict:
    """Send ``template_id`` to the client of every affected case not sent it yet (the
    communication lead or the crisis team); returns how many by e-mail, by SMS, and how
    many need a call or visit. Commits."""
    session = uow.session
    user = get_user(session, actor_id)
    crisis = load_crisis(session, crisis_id, for_update=True)
    if not (user.has_role(*SEND_ROLES) or user.id == crisis.communication_lead_id):
        raise Forbidden("only the Crisis Communication Lead and the crisis team inform clients")
    if crisis.status == CrisisStatus.CLOSED:
        raise Conflict(N_("crisis %(id)s is closed") % {"id": crisis.id})
    templates = load_templates(templates_dir)
    template = templates.get(template_id)
    if not template.fits(crisis.kind):
        raise Invalid("this template is not for this kind of disruption",
                      errors={"template": [f"“{template.title}” is for another kind of disruption"]})
    already = select(CrisisClientContact.case_id).where(
        CrisisClientContact.crisis_id == crisis.id, CrisisClientContact.template == template.id,
        CrisisClientContact.state.in_(_SENT_ONCE))
    rows = session.execute(select(CrisisCaseCheck.case_id, CrisisCaseCheck.case_code, Client)
                           .outerjoin(CaseClientLink, CaseClientLink.case_id == CrisisCaseCheck.case_id)
                           .outerjoin(Client, Client.id == CaseClientLink.client_id)
                           .where(CrisisCaseCheck.crisis_id == crisis.id, CrisisCaseCheck.case_id.not_in(already))
                           .order_by(CrisisCaseCheck.rank)).all()
    now = clock.now()
    counts = {ContactChannel.EMAIL.value: 0, ContactChannel.SMS.value: 0, "personal": 0}
    queued: list[CrisisClientContact] = []
    seen: set[int] = set()
    for case_id, case_code, client in rows:
        if case_id in seen:
            continue  # a case with two clients linked is informed once per template, through the first
        seen.add(case_id)
        channel = _channel_for(client)
        state = ContactState.DRILL if crisis.drill else ContactState.QUEUED if channel else \
            ContactState.NEEDS_PERSONAL_CONTACT
        counts[channel or "personal"] += 1
        contact = CrisisClientContact(crisis_id=crisis.id, case_id=case_id, case_code=case_code,
                                      channel=channel or ContactChannel.PHONE, template=template.id, state=state,
                                      attempted_at=now, attempted_by=user.id, detail="")
        session.add(contact)
        if state == ContactState.QUEUED:
            queued.append(contact)
        uow.audit(user.id, "client_contact_details_read", "case", case_id, case_code, crisis_id=crisis.id,
                  purpose="crisis client message", channel=channel)
    session.flush()
    ids = [c.id for c in queued]
    for start in range(0, len(ids), MESSAGE_BATCH):
        uow.enqueue("crisis_send_client_messages", crisis.id, ids[start:start + MESSAGE_BATCH])
    what = "Drill — would have informed" if crisis.drill else "Informing"
    cases = labels.count(len(seen), "affected case")
    add_system_entry(session, crisis.id, "communication", f"{what} the clients of {cases} with "
                     f"“{template.title}”: {counts['email']} by e-mail, {counts['sms']} by SMS, {counts['personal']} "
                     "need a call or visit (no consented e-mail address or phone number).", user.id)
    uow.audit(user.id, "client_messages_queued", "crisis", crisis.id, template=template.id, drill=crisis.drill,
              **counts)
    uow.commit()
    return {"template": template.id, "cases": len(seen), **counts, "drill": crisis.drill}


def record_contact_attempt(uow, actor_id: int, crisis_id: int, case_code: str, channel, made, note=None) -> dict:
    """The people on a case record a call, visit or message they made or tried. Commits."""
    session = uow.session
    user = get_user(session, actor_id)
    crisis = load_crisis(session, crisis_id)
    if crisis.status == CrisisStatus.CLOSED:
        raise Conflict(N_("crisis %(id)s is closed: its records are final") % {"id": crisis.id})
    case, check = _case_and_check(session, crisis.id, case_code)
    _require_need_to_know(user, case, check)
    errors = {}
    if channel not in ContactChannel.values():
        errors["channel"] = [f"one of {', '.join(ContactChannel.values())}"]
    if not isinstance(made, bool):
        errors["made"] = ["true when the client was reached"]
    text = note.strip() if isinstance(note, str) else ""
    if len(text) > NOTE_MAX:
        errors["note"] = [f"at most {NOTE_MAX} characters"]
    if errors:
        raise Invalid("the contact has invalid fields", errors=errors)
    now = clock.now()
    contact = CrisisClientContact(crisis_id=crisis.id, case_id=case.id, case_code=case.code, channel=channel,
                                  template=None, state=ContactState.MADE if made else ContactState.NOT_REACHED,
                                  attempted_at=now, attempted_by=user.id, done_at=now, detail=text)
    session.add(contact)
    if made and check is not None and check.reached_at is None:
        check.reached_at = now
    uow.audit(user.id, "client_contact_recorded", "case", case.id, case.code, crisis_id=crisis.id, channel=channel,
              made=made)
    uow.commit()
    return {"case_code": case.code, "channel": channel, "state": contact.state}


def contact_summary(session, user_id: int, crisis_id: int) -> dict:
    """Contacts by channel and outcome, and how many cases had a contact made (counts only)."""
    require_role(session, user_id, VIEW_ROLES, "see the contacts with clients")
    rows = session.execute(select(CrisisClientContact.channel, CrisisClientContact.state, func.count())
                           .where(CrisisClientContact.crisis_id == crisis_id)
                           .group_by(CrisisClientContact.channel, CrisisClientContact.state)).all()
    by_channel = {c: dict.fromkeys(ContactState.values(), 0) for c in ContactChannel.values()}
    for channel, state, count in rows:
        by_channel.setdefault(channel, dict.fromkeys(ContactState.values(), 0))[state] = count
    reached = session.scalar(select(func.count(func.distinct(CrisisClientContact.case_id))).where(
        CrisisClientContact.crisis_id == crisis_id, CrisisClientContact.state == ContactState.MADE))
    attempted = session.scalar(select(func.count(func.distinct(CrisisClientContact.case_id))).where(
        CrisisClientContact.crisis_id == crisis_id))
    return {"by_channel": by_channel, "cases_attempted": attempted, "cases_reached": reached}


# -- sending (the task queue) ------------------------------------------------------------
@dataclass(frozen=True)
class OutgoingMessage:
    contact_id: int
    channel: str
    to: str
    subject: str
    text: str
    message_id: str


def claim_messages(uow, crisis_id: int, contact_ids: Iterable[int], templates_dir: Path,
                   mail_from: str) -> list[OutgoingMessage]:
    """Take the queued messages of ``contact_ids`` for sending (a repeated job finds none)
    and write them from their template. Commits the claim."""
    session = uow.session
    claimed = list(session.scalars(update(CrisisClientContact).where(
        CrisisClientContact.id.in_(list(contact_ids)), CrisisClientContact.crisis_id == crisis_id,
        CrisisClientContact.state == ContactState.QUEUED)
        .values(state=ContactState.SENDING, claimed_at=clock.now()).returning(CrisisClientContact.id)
        .execution_options(synchronize_session=False)))
    if not claimed:
        uow.commit()
        return []
    crisis = load_crisis(session, crisis_id)
    templates: Templates = load_templates(templates_dir)
    kind, resume_by = labels.kind_label(crisis.kind).lower(), resume_by_text(crisis)
    domain = mail_from.rsplit("@", 1)[-1].strip("> ") or "localhost"
    out: list[OutgoingMessage] = []
    linked = (select(CrisisClientContact, Client)
              .join(CaseClientLink, CaseClientLink.case_id == CrisisClientContact.case_id)
              .join(Client, Client.id == CaseClientLink.client_id).where(CrisisClientContact.id.in_(claimed))
              .order_by(CrisisClientContact.id))
    for contact, client in session.execute(linked).all():
        if any(o.contact_id == contact.id for o in out):
            continue
        template = templates.by_id.get(contact.template or "")
        address = client.email if contact.channel == ContactChannel.EMAIL else client.phone
        if template is None or not address or not client.consent_to_contact:
            contact.state, contact.done_at = ContactState.FAILED, clock.now()
            contact.detail = "no consented address or template any more"
            continue
        field = "email" if contact.channel == ContactChannel.EMAIL else "sms"
        out.append(OutgoingMessage(contact.id, contact.channel, address,
                                   templates.render(template, "email_subject", kind, resume_by),
                                   templates.render(template, field, kind, resume_by),
                                   f"<crisis-contact-{contact.id}.{int(contact.attempted_at.timestamp())}@{domain}>"))
    uow.commit()
    return out


Outcome = tuple[int, str | None]  # contact id, the error (None: sent)


def deliver(messages: list[OutgoingMessage], send_email: EmailSender | None, sms: SmsSender) -> list[Outcome]:
    """Send each message; one that fails does not stop the others. No ``send_email``: no
    mail server is configured."""
    outcomes: list[Outcome] = []
    for message in messages:
        try:
            if message.channel == ContactChannel.EMAIL:
                if send_email is None:
                    raise DeliveryFailed("no mail server is configured (SMTP_URL)")
                send_email(message.to, message.subject, message.text, message.message_id)
            else:
                sms.send(message.to, message.text, str(message.contact_id))
            outcomes.append((message.contact_id, None))
        except DeliveryFailed as err:
            outcomes.append((message.contact_id, str(err)[:500]))
    return outcomes


def record_outcomes(uow, outcomes: list[Outcome]) -> None:
    """Sent or failed, on each contact. Commits."""
    now = clock.now()
    for contact_id, error in outcomes:
        contact = uow.session.get(CrisisClientContact, contact_id)
        if contact is None or contact.state != ContactState.SENDING:
            continue
        contact.state = ContactState.FAILED if error else ContactState.SENT
        contact.done_at, contact.detail = now, error or ""
        uow.audit(None, "client_message_failed" if error else "client_message_sent", "case", contact.case_id,
                  contact.case_code, crisis_id=contact.crisis_id, channel=contact.channel, template=contact.template)
    uow.commit()

