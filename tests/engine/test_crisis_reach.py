"""The crisis reaches every case and every person it should (issue 17): the preview before
declaring, widening and narrowing the scope, staff availability and backups, client
communication from templates, drills."""
from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.crisis import availability, client_contact, scope
from engine.crisis.message_templates import load_templates
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Case, CaseClientLink, Client, HumanTask, User
from engine.models.crisis import Crisis, CrisisCaseCheck, CrisisClientContact, DisruptionLogEntry
from engine.settings import PROJECT_ROOT
from tests.engine.crisis_support import T0, add_case, add_caseworker, check_tasks, declare, run_crisis_jobs, user_id

TEMPLATES = PROJECT_ROOT / "workflows" / "templates"


def _seed(ctx) -> None:
    add_case(ctx, "C-ASSESS", stage="assessment", risk="high")
    add_case(ctx, "C-IMPL", stage="implementation", risk="medium")
    add_case(ctx, "C-REVIEW", stage="review", risk="low", caseworker="caseworker2")
    add_case(ctx, "C-CLOSING", stage="closure", risk=None)
    add_case(ctx, "C-CLOSED", stage="implementation", risk="high", status="C")


def _checks(ctx, crisis_id: int) -> dict[str, int]:
    with ctx.session_factory() as session:
        return dict(session.execute(select(CrisisCaseCheck.case_code, func.count())
                                    .where(CrisisCaseCheck.crisis_id == crisis_id)
                                    .group_by(CrisisCaseCheck.case_code)).all())


def test_preview_counts_by_risk_and_stage_are_the_cases_the_fan_out_reaches_R35_R37(ctx):
    """R35/R37: 5.4 covers implementation and review only: the preview says so in words and
    counts exactly the cases the fan-out then checks (never names)."""
    clock.freeze(T0)
    _seed(ctx)
    with ctx.session_factory() as session:
        seen = scope.preview(session, user_id(ctx, "crisislead1"), ["5.4"])
        with pytest.raises(Invalid):
            scope.preview(session, user_id(ctx, "crisislead1"), [])
    assert seen["affected"] == {"total": 2, "by_risk": {"high": 0, "medium": 1, "low": 1, "unrated": 0},
                                "by_stage": {"implementation": 1, "review": 1}}
    assert seen["scope"][0]["label"] == "5.4 Monitoring & Follow-up"
    assert seen["scope"][0]["stages_text"] == "Implementation, case review"
    crisis_id = declare(ctx, functions=("5.4",))
    assert run_crisis_jobs(ctx) == seen["affected"]["total"]
    assert _checks(ctx, crisis_id) == {"C-IMPL": 1, "C-REVIEW": 1}


def test_widening_gives_newly_covered_cases_their_check_exactly_once_and_the_log_says_why_R37_R39(ctx):
    """R37/R39: widening 5.4 to 5.1-5.6 checks the newly covered cases once each (a repeated
    plan adds nothing); narrowing keeps the checks made; recovery does not start."""
    clock.freeze(T0)
    _seed(ctx)
    crisis_id = declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)
    lead = user_id(ctx, "crisislead1")
    with ctx.uow() as uow:
        scope.change_scope(uow, ctx.runtime, lead, crisis_id, ["5.1", "5.2", "5.3", "5.4", "5.5", "5.6"],
                           "Intake is down too")
    assert run_crisis_jobs(ctx) == 2
    with ctx.uow() as uow:
        uow.enqueue("crisis_plan_checks", crisis_id)
        uow.commit()
    assert run_crisis_jobs(ctx) == 0
    assert _checks(ctx, crisis_id) == {"C-ASSESS": 1, "C-IMPL": 1, "C-REVIEW": 1, "C-CLOSING": 1}
    with ctx.uow() as uow:
        scope.change_scope(uow, ctx.runtime, lead, crisis_id, ["5.4"], "Intake is back")
        with pytest.raises(Invalid):
            scope.change_scope(uow, ctx.runtime, lead, crisis_id, ["5.4"], "again")
    run_crisis_jobs(ctx)
    with ctx.session_factory() as session:
        record = session.get(Crisis, crisis_id)
        log = list(session.scalars(select(DisruptionLogEntry.text).where(DisruptionLogEntry.crisis_id == crisis_id)))
    assert record.status == "resumption" and record.functions == ["5.4"] and record.scope_version == 3
    assert len(_checks(ctx, crisis_id)) == 4  # narrowing takes no check away
    assert any(t.startswith("Scope widened") and "Intake is down too" in t for t in log)
    assert any(t.startswith("Scope narrowed") and "Intake is back" in t for t in log)
    assert any("2 more open cases newly covered" in t for t in log)


def test_an_unavailable_caseworkers_checks_go_to_a_backup_and_come_back_at_recovery_R37(ctx):
    """R37: marking caseworker1 unavailable sets the people administration's flag and moves
    their crisis checks to a colleague by the backup rule; restored at recovery."""
    clock.freeze(T0)
    add_caseworker(ctx, "caseworker3")
    add_case(ctx, "C-AWAY", stage="implementation", risk="high")
    crisis_id = declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)
    with ctx.uow() as uow:
        moved = availability.mark_unavailable(uow, user_id(ctx, "crisislead1"), crisis_id, "caseworker1", "Off sick")
        with pytest.raises(Conflict):
            availability.mark_unavailable(uow, user_id(ctx, "crisislead1"), crisis_id, "caseworker1")
    backup = check_tasks(ctx)[0].assignee_id
    assert moved["tasks_moved"] == 1 and backup in {user_id(ctx, "caseworker2"), user_id(ctx, "caseworker3")}
    with ctx.session_factory() as session:
        assert session.get(User, user_id(ctx, "caseworker1")).available is False
        record = session.get(Crisis, crisis_id)
    with ctx.uow() as uow:
        assert availability.restore_at_recovery(uow, uow.session.merge(record), None) == 1
        uow.commit()
    with ctx.session_factory() as session:
        assert session.get(User, user_id(ctx, "caseworker1")).available is True
    assert check_tasks(ctx)[0].assignee_id == user_id(ctx, "caseworker1")


def test_only_the_crisis_team_or_the_person_marks_someone_unavailable(ctx):
    clock.freeze(T0)
    crisis_id = declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)
    with ctx.uow() as uow:
        with pytest.raises(Forbidden):
            availability.mark_unavailable(uow, user_id(ctx, "caseworker2"), crisis_id, "caseworker1")
        assert availability.mark_unavailable(uow, user_id(ctx, "caseworker1"), crisis_id, "caseworker1")["username"] \
            == "caseworker1"


def _client(ctx, case_code: str, email: str | None, phone: str | None, consent: bool) -> None:
    with ctx.uow() as uow:
        client = Client(name="Pseudonymous Client", email=email, phone=phone, consent_to_contact=consent)
        uow.session.add(client)
        uow.session.flush()
        case_id = uow.session.scalar(select(Case.id).where(Case.code == case_code))
        uow.session.add(CaseClientLink(case_id=case_id, client_id=client.id))
        uow.commit()


class RecordingSms:
    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str, reference: str) -> None:
        self.sent.append((to, text))


def test_clients_are_informed_from_a_template_by_email_or_sms_where_they_consented_R39(ctx):
    """Seed 000 "inform clients (SMS, email, phone)": e-mail where an address and consent,
    SMS where a phone and consent, otherwise a call or visit; a template goes once per case."""
    clock.freeze(T0)
    for code in ("C-MAIL", "C-SMS", "C-NOCONSENT"):
        add_case(ctx, code, stage="implementation")
    _client(ctx, "C-MAIL", "client@example.org", "0700", True)
    _client(ctx, "C-SMS", None, "+256700000001", True)
    _client(ctx, "C-NOCONSENT", "other@example.org", None, False)
    crisis_id = declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)
    lead = user_id(ctx, "crisislead1")
    with ctx.uow() as uow:
        sent = client_contact.send_template(uow, lead, crisis_id, "it_outage", TEMPLATES)
    assert (sent["email"], sent["sms"], sent["personal"]) == (1, 1, 1)
    with ctx.uow() as uow:
        assert client_contact.send_template(uow, lead, crisis_id, "it_outage", TEMPLATES)["cases"] == 0
    with ctx.session_factory() as session:
        queued = list(session.scalars(select(CrisisClientContact.id).where(CrisisClientContact.state == "queued")))
    with ctx.uow() as uow:
        messages = client_contact.claim_messages(uow, crisis_id, queued, TEMPLATES, "crisis@service.example")
    mails: list[EmailMessage] = []
    sms = RecordingSms()

    def mail(to: str, subject: str, text: str, message_id: str) -> None:
        message = EmailMessage()
        message["To"], message["Subject"] = to, subject
        message.set_content(text)
        mails.append(message)
    outcomes = client_contact.deliver(messages, mail, sms)
    with ctx.uow() as uow:
        client_contact.record_outcomes(uow, outcomes)
    assert [m["To"] for m in mails] == ["client@example.org"] and "systems are down" in mails[0]["Subject"]
    assert "Pseudonymous" not in mails[0].get_content() and "C-MAIL" not in mails[0].get_content()
    assert sms.sent[0][0] == "+256700000001" and "call" in sms.sent[0][1]
    with ctx.session_factory() as session:
        summary = client_contact.contact_summary(session, lead, crisis_id)
    assert summary["by_channel"]["email"]["sent"] == 1 and summary["by_channel"]["sms"]["sent"] == 1
    assert summary["by_channel"]["phone"]["personal"] == 1


def test_a_message_template_with_an_unknown_placeholder_is_refused(tmp_path):
    for path in TEMPLATES.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert "it_outage" in load_templates(tmp_path).by_id
    (tmp_path / "bad.json").write_text('{"title": "x", "sms": "Hi $client_name", "email_subject": "s", '
                                       '"email": "e", "phone_script": "p"}', encoding="utf-8")
    with pytest.raises(Invalid, match="bad.json: sms names an unknown placeholder"):
        load_templates(tmp_path)


def test_a_drill_marks_every_task_contacts_no_client_and_does_not_block_a_real_declaration_R41_R54(ctx):
    """R41/R54: the drill's tasks say "Drill", its client messages are recorded, not sent;
    unavailability changes no live flag; a real disruption can still be declared."""
    clock.freeze(T0)
    add_case(ctx, "C-DRILL", stage="implementation", risk="high")
    _client(ctx, "C-DRILL", "client@example.org", None, True)
    drill_id = declare(ctx, functions=("5.4",), drill=True)
    run_crisis_jobs(ctx)
    with ctx.session_factory() as session:
        drill = session.get(Crisis, drill_id)
        titles = list(session.scalars(select(HumanTask.title).where(HumanTask.instance_id == drill.instance_id)))
    assert titles and all(t.startswith("Drill — ") for t in titles)
    assert check_tasks(ctx)[0].title.startswith("Drill — ")
    lead = user_id(ctx, "crisislead1")
    with ctx.uow() as uow:
        assert client_contact.send_template(uow, lead, drill_id, "it_outage", TEMPLATES)["drill"] is True
    with ctx.uow() as uow:
        availability.mark_unavailable(uow, lead, drill_id, "caseworker1")
    with ctx.session_factory() as session:
        states = set(session.scalars(select(CrisisClientContact.state)))
        assert session.get(User, user_id(ctx, "caseworker1")).available is True
        assert session.scalar(select(func.count()).select_from(CrisisClientContact)
                              .where(CrisisClientContact.state == "queued")) == 0
    assert states == {"drill"}
    assert check_tasks(ctx)[0].assignee_id == user_id(ctx, "caseworker2")  # the drill's own work moved
    real_id = declare(ctx, functions=("5.1",))
    assert real_id != drill_id
    with pytest.raises(Conflict):
        declare(ctx, functions=("5.2",), drill=True)
