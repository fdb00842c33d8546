"""Case services: taking a referral, need-to-know lists and case files with their audit,
reassignment, and the committee's arithmetic (R03, R05, R06, R29, R32)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select

from engine.case import assignment, case_lists, lifecycle
from engine.case import files as case_files
from engine.case import intake as cases
from engine.committee.operations import tally_votes
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.infra import db
from engine.models import AuditEvent, Case, CaseClientLink, Client, HumanTask, ProcessInstance
from engine.people import access
from tests.workflows.case_driver import CLIENT, NEEDS_MEDIUM, REFERRAL, CaseDriver

CASE_TABLES = {"cases", "clients", "case_client_links", "case_events", "case_notes", "service_referrals",
               "case_assessments", "case_plans", "case_reviews", "case_closures", "conferences", "votes"}

# Variants of a route run on SQLite only (the suite stays fast); the backbone tests without
# this mark run on SQLite and PostgreSQL.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_referral_creates_a_pseudonymous_case_apart_from_the_client_and_starts_the_process(ctx):
    """R05: the client is stored apart, linked to the case only through the link table; the
    process data holds the code and flags only."""
    d = CaseDriver(ctx)
    with ctx.uow() as uow:
        case = cases.create_referral(uow, ctx.runtime, d.uid("supervisor1"), {**REFERRAL, "referred_by": "teacher"},
                                     CLIENT)
        uow.commit()
        code, instance_id = case.code, case.main_instance_id
    with ctx.session_factory() as s:
        case = s.scalar(select(Case).where(Case.code == code))
        assert (case.status, case.stage, case.referral_source, case.referred_by) == (
            "O", "screening", "community member", "teacher")
        client = s.scalar(select(Client).join(CaseClientLink).where(CaseClientLink.case_id == case.id))
        assert (client.name, client.date_of_birth.isoformat(), client.sex) == ("Amina Example", "2014-05-01", "female")
        instance = s.get(ProcessInstance, instance_id)
        assert (instance.process_id, instance.case_code) == ("case_management", code)
        assert "Amina" not in instance.state_json


@pytest.mark.parametrize(("referral", "client", "fields"), [
    ({}, {}, {"referral.source", "referral.primary_concern", "client.name"}),
    ({"source": "ngo", "primary_concern": "x"}, {"name": "  "}, {"client.name"}),
    ({"source": "ngo", "primary_concern": "x"}, {"name": "A", "date_of_birth": "2099-01-01"}, {"client.date_of_birth"}),
    ({"source": "ngo", "primary_concern": "x"}, {"name": "A", "date_of_birth": "soon"}, {"client.date_of_birth"}),
    ({"source": "x" * 61, "primary_concern": "x"}, {"name": "A"}, {"referral.source"}),
])
@SQLITE_ONLY
def test_invalid_referral_is_refused_with_field_errors_and_creates_nothing(ctx, referral, client, fields):
    d = CaseDriver(ctx)
    with ctx.uow() as uow, pytest.raises(Invalid) as refused:
        cases.create_referral(uow, ctx.runtime, d.uid("caseworker1"), referral, client)
    assert set(refused.value.errors) == fields
    with ctx.session_factory() as s:
        assert s.scalars(select(Case)).all() == [] and s.scalars(select(Client)).all() == []


@SQLITE_ONLY
def test_only_staff_working_with_clients_take_referrals(ctx):
    d = CaseDriver(ctx)
    for username in ("committee1", "admin", "processowner1"):
        with ctx.uow() as uow, pytest.raises(Forbidden):
            cases.create_referral(uow, ctx.runtime, d.uid(username), REFERRAL, CLIENT)


def _file(ctx, d, username, code):
    with ctx.uow() as uow:
        file = case_files.get_case_file(uow, d.uid(username), code)
        uow.commit()
        return file


def test_need_to_know_on_the_case_file_and_who_sees_the_name(ctx):
    """R32: the caseworker, the supervisor and the director see the file and the name;
    committee members see it (no name) only while the case is before them; another
    caseworker may not open it; admins see no name. Every opening is audited."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)  # before the committee now
    assert _file(ctx, d, "committee1", code).client is None
    d.admit(code)
    with pytest.raises(Forbidden):
        _file(ctx, d, "committee1", code)
    d.register(code)
    d.do(code, "initial_assessment", NEEDS_MEDIUM)
    for username in ("caseworker1", "supervisor1", "director1"):
        file = _file(ctx, d, username, code)
        assert file.client is not None and file.client.name == CLIENT["name"], username
    assert _file(ctx, d, "admin", code).client is None
    with pytest.raises(Forbidden):
        _file(ctx, d, "caseworker2", code)
    with pytest.raises(NotFound):
        _file(ctx, d, "caseworker1", "CM-NONE-NONE")
    with ctx.session_factory() as s:
        reads = [(d.username(a.actor_id), json.loads(a.detail_json)["name_shown"])
                 for a in s.scalars(select(AuditEvent).where(AuditEvent.action == "case_file_viewed")
                                    .order_by(AuditEvent.id))]
    assert reads == [("committee1", False), ("caseworker1", True), ("supervisor1", True), ("director1", True),
                     ("admin", False)]


@SQLITE_ONLY
def test_case_file_holds_the_tracking_dates_timeline_tasks_and_votes(ctx):
    """R33, R34: the timeline lines carry the status, caseworker and supervisor of their
    moment; the file has open and done tasks and every vote."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    file = _file(ctx, d, "caseworker1", code)
    assert file.case.date_registered is not None and file.case.date_intake is not None
    assert [t.name for t in file.open_tasks] == ["initial_assessment"]
    assert {t.name for t in file.done_tasks} >= {"screening", "cast_vote", "consent_registration"}
    assert sorted(v.member for v in file.votes) == ["committee1", "committee2", "director1", "supervisor1"]
    assert {v.conference for v in file.votes} == {"admission"}
    consent = next(e for e in file.timeline if e.form == "case_consent")
    assert (consent.case_status, consent.actor, consent.caseworker) == ("O", "caseworker1", None)
    assignment = next(e for e in file.timeline if e.kind == "assignment")
    assert (assignment.caseworker, assignment.supervisor) == ("caseworker1", "supervisor1")


def test_case_lists_show_codes_the_user_may_see(ctx):
    """R32: each user's list holds only cases they work on (by code, no name)."""
    d = CaseDriver(ctx)
    mine = d.refer()
    d.to_registered(mine)
    other = d.refer()
    d.screen(other, by="caseworker2")
    d.admit(other)
    d.register(other)

    def codes(username):
        with ctx.session_factory() as s:
            rows, total = case_lists.list_cases(s, d.uid(username))
            assert total == len(rows)
            return {r.code for r in rows}
    assert codes("caseworker1") == {mine}
    assert codes("caseworker2") == {other}
    assert codes("supervisor1") == codes("director1") == {mine, other}
    assert codes("committee1") == set()
    with ctx.session_factory() as s:
        rows, _ = case_lists.list_cases(s, d.uid("caseworker1"))
        assert not hasattr(rows[0], "name") and rows[0].caseworker == "caseworker1"
        assert case_lists.list_cases(s, d.uid("director1"), status="C")[1] == 0


def test_reassignment_moves_the_open_tasks_and_is_for_supervisors(ctx):
    """R29: the supervisor hands the case over; the leaving caseworker's open tasks follow."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    with ctx.uow() as uow, pytest.raises(Forbidden):
        assignment.reassign_case(uow, d.uid("caseworker1"), code, "caseworker2", "leaving")
    with ctx.uow() as uow, pytest.raises(Invalid):
        assignment.reassign_case(uow, d.uid("supervisor1"), code, "committee1", "leaving")
    with ctx.uow() as uow:
        assignment.reassign_case(uow, d.uid("supervisor1"), code, "caseworker2", "caseworker1 on leave")
        uow.commit()
    assert d.assignee(d.task(code, "initial_assessment")) == "caseworker2"
    assert d.username(d.case(code).caseworker_id) == "caseworker2"
    d.do(code, "initial_assessment", NEEDS_MEDIUM)
    assert d.assignee(d.task(code, "comprehensive_start")) == "caseworker2"


@SQLITE_ONLY
def test_reopening_needs_a_closed_case(ctx):
    d = CaseDriver(ctx)
    code = d.refer()
    with ctx.uow() as uow, pytest.raises(Conflict):
        lifecycle.reopen_case(uow, ctx.runtime, d.uid("director1"), code, "why")


@pytest.mark.parametrize(("votes", "members", "outcome"), [
    (["approve", "approve", "reject", "approve"], 4, "approved"),
    (["approve", "approve", "reject", "reject"], 4, "rejected"),  # a tie is no majority
    (["approve", "approve"], 4, "approved"),  # half the members is a quorum of 50 %
    (["approve"], 4, "no_quorum"),
    ([], 4, "no_quorum"),
    ([], 0, "no_quorum"),
])
def test_committee_outcome_follows_quorum_and_majority(votes, members, outcome):
    """R03: quorum 50 % of members, approval by more than 50 % of votes cast (committee_rules)."""
    assert tally_votes(votes, members, quorum_percent=50, approve_percent=50) == outcome


def test_case_access_rules_are_pure_functions():
    """R32 as rules: who may open a case and who may read the name."""
    def user(uid, *roles):
        return SimpleNamespace(id=uid, roles=set(roles), has_role=lambda *r: bool(set(r) & set(roles)))
    case = SimpleNamespace(caseworker_id=1, supervisor_id=2)
    view = access.may_view_case
    assert view(user(1, "caseworker"), case, set(), holds_task=False, before_committee=False)
    assert view(user(2, "supervisor"), case, set(), holds_task=False, before_committee=False)
    assert view(user(9, "supervisor"), case, {1}, holds_task=False, before_committee=False)
    assert view(user(3, "director"), case, set(), holds_task=False, before_committee=False)
    assert view(user(4, "committee_member"), case, set(), holds_task=False, before_committee=True)
    assert not view(user(4, "committee_member"), case, set(), holds_task=False, before_committee=False)
    assert not view(user(5, "caseworker"), case, set(), holds_task=False, before_committee=False)
    assert view(user(5, "caseworker"), case, set(), holds_task=True, before_committee=False)
    name = access.may_see_client_name
    assert name(user(1, "caseworker"), case, set(), works_on_open_task=False)
    assert name(user(3, "director"), case, set(), works_on_open_task=False)
    assert not name(user(6, "admin"), case, set(), works_on_open_task=False)
    assert not name(user(4, "committee_member"), case, set(), works_on_open_task=False)
    intake = SimpleNamespace(caseworker_id=None, supervisor_id=None, intake_worker_id=7)
    assert view(user(7, "caseworker"), intake, set(), holds_task=False, before_committee=False)
    assert name(user(7, "caseworker"), intake, set(), works_on_open_task=False)
    assigned = SimpleNamespace(caseworker_id=1, supervisor_id=2, intake_worker_id=7)
    assert not view(user(7, "caseworker"), assigned, set(), holds_task=False, before_committee=False)
    assert not name(user(7, "caseworker"), assigned, set(), works_on_open_task=False)


def test_migration_0002_creates_exactly_the_case_tables(tmp_path):
    """The case migration creates its own tables and nothing else."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = create_engine(url)
    cfg = db.alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        before = set(inspect(conn).get_table_names())
        command.upgrade(cfg, "0002")
        after = set(inspect(conn).get_table_names())
    engine.dispose()
    assert after - before == CASE_TABLES


@SQLITE_ONLY
def test_open_tasks_of_a_case_carry_its_code(ctx):
    d = CaseDriver(ctx)
    code = d.refer()
    with ctx.session_factory() as s:
        assert s.scalars(select(HumanTask.case_code)).all() == [code]
