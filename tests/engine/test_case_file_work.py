"""The case file as a working file (issue 13): contacts and notes added at any time with
their R33 header, the confidential section for those allowed; likely duplicate referrals
(R32: never a name or code the referrer may not see); supervisors see their team's
unassigned referrals; committee members see the file only while its conference is open."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from engine.case import case_lists, intake, notes
from engine.case import files as case_files
from engine.errors import Forbidden, Invalid
from engine.models import AuditEvent, Case, CaseNote
from engine.models.ops import Notification
from tests.workflows.case_driver import CLIENT, REFERRAL, CaseDriver

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _file(ctx, d: CaseDriver, username: str, code: str):
    with ctx.uow() as uow:
        return case_files.get_case_file(uow, d.uid(username), code)


def _note(ctx, d: CaseDriver, username: str, code: str, **kw):
    with ctx.uow() as uow:
        return notes.add_case_note(uow, d.uid(username), code, **kw)


def _registered(ctx) -> tuple[CaseDriver, str]:
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    return d, code


# -- contacts and notes --------------------------------------------------------------------------
def test_R33_a_contact_added_at_any_time_carries_its_header_and_moves_the_last_contact_R34(ctx):
    d, code = _registered(ctx)
    visited = d.now - dt.timedelta(hours=2)
    line = _note(ctx, d, "caseworker1", code, kind="contact", contact_type="direct", contact_method="home_visit",
                 contact_at=visited.isoformat(), text="Visited at home; the child is safe.")
    assert (line.case_code, line.case_status, line.caseworker, line.supervisor, line.author) == (
        code, d.case(code).status, "caseworker1", "supervisor1", "caseworker1")
    assert line.at == d.now and line.contact_at == visited
    assert d.case(code).date_last_contact == visited  # the tracking field follows a direct contact
    _note(ctx, d, "caseworker1", code, kind="contact", contact_type="indirect", contact_method="phone",
          contact_at=d.now.isoformat(), text="Called the school.")
    assert d.case(code).date_last_contact == visited  # an indirect contact is not a contact with the child
    shown = _file(ctx, d, "supervisor1", code).notes
    assert [(n.kind, n.contact_type) for n in shown] == [("contact", "direct"), ("contact", "indirect")]
    with ctx.session_factory() as s:
        audited = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case_note_added"))
    assert audited == 2


def test_the_clients_words_are_kept_exactly_and_a_long_note_is_refused_not_cut(ctx):
    d, code = _registered(ctx)
    words = 'She said: "<b>I won\'t</b> go back" & <script>nothing</script>\r\nSecond line'
    line = _note(ctx, d, "caseworker1", code, kind="note", text=words)
    assert line.text == words.replace("\r\n", "\n")
    with pytest.raises(Invalid) as refused:
        _note(ctx, d, "caseworker1", code, kind="note", text="x" * (notes.NOTE_MAX + 1))
    assert "8,000" in refused.value.errors["text"][0]
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CaseNote)) == 1


@pytest.mark.parametrize(("fields", "wrong"), [
    ({"kind": "contact", "text": "saw her", "contact_method": "phone"}, "contact_type"),
    ({"kind": "contact", "text": "saw her", "contact_type": "direct"}, "contact_method"),
    ({"kind": "contact", "text": "saw her", "contact_type": "direct", "contact_method": "phone",
      "contact_at": "2999-01-01T10:00"}, "contact_at"),
    ({"kind": "note", "text": "   "}, "text"),
    ({"kind": "follow_up", "text": "x"}, "kind"),
])
@SQLITE_ONLY
def test_a_contact_says_direct_or_indirect_how_and_when_in_words(ctx, fields, wrong):
    d, code = _registered(ctx)
    with pytest.raises(Invalid) as refused:
        _note(ctx, d, "caseworker1", code, **fields)
    assert wrong in refused.value.errors
    assert not any(ch in refused.value.errors[wrong][0] for ch in "_.")  # words, not field names


@SQLITE_ONLY
def test_a_confidential_entry_is_seen_only_by_those_allowed(ctx):
    d, code = _registered(ctx)
    _note(ctx, d, "caseworker1", code, kind="note", text="Disclosed in confidence", confidential=True)
    _note(ctx, d, "caseworker1", code, kind="note", text="Ordinary note")
    for username in ("caseworker1", "supervisor1", "director1"):
        assert [n.text for n in _file(ctx, d, username, code).notes if n.confidential] == ["Disclosed in confidence"]
    assert [n.text for n in _file(ctx, d, "admin", code).notes] == ["Ordinary note"]


@SQLITE_ONLY
def test_those_who_only_read_a_file_do_not_write_in_it(ctx):
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)  # before the committee
    assert _file(ctx, d, "committee2", code).may_write_notes is False
    with pytest.raises(Forbidden):
        _note(ctx, d, "committee2", code, kind="note", text="a committee member's note")
    with pytest.raises(Forbidden):
        _note(ctx, d, "caseworker2", code, kind="note", text="not my case")


# -- committee members and the conference (issue 13, item 5) -----------------------------------------
def test_R32_a_committee_member_sees_the_file_while_its_conference_is_open_audited_and_not_after(ctx):
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)
    file = _file(ctx, d, "committee2", code)
    assert file.client is None  # the committee decides on codes
    with ctx.session_factory() as s:
        rows, _ = case_lists.list_cases(s, d.uid("committee2"))
        assert code in {r.code for r in rows}
        viewed = s.scalars(select(AuditEvent).where(AuditEvent.action == "case_file_viewed",
                                                    AuditEvent.actor_id == d.uid("committee2"))).all()
    assert len(viewed) == 1 and json.loads(viewed[0].detail_json)["name_shown"] is False
    d.admit(code)  # the conference decides and closes
    with pytest.raises(Forbidden):
        _file(ctx, d, "committee2", code)
    with ctx.session_factory() as s:
        rows, _ = case_lists.list_cases(s, d.uid("committee2"))
        assert code not in {r.code for r in rows}


# -- a supervisor's team referrals (issue 13, item 6) ------------------------------------------------
def test_a_supervisor_sees_the_unassigned_and_screening_referrals_their_team_sees(ctx):
    d = CaseDriver(ctx)
    waiting = d.refer(by="caseworker2")  # screening, offered to the caseworkers
    other_team = d.refer(by="director1")
    with ctx.session_factory() as s:
        seen = {r.code for r in case_lists.list_cases(s, d.uid("supervisor1"))[0]}
        caseworker_sees = {r.code for r in case_lists.list_cases(s, d.uid("caseworker1"))[0]}
    assert waiting in seen and waiting in caseworker_sees
    assert other_team in caseworker_sees and other_team in seen  # what the team is offered, the supervisor sees
    assert _file(ctx, d, "supervisor1", waiting).client is None  # not screened yet: by its code
    d.screen(waiting, by="caseworker2")  # no caseworker until registration; caseworker2 did the intake
    file = _file(ctx, d, "supervisor1", waiting)
    assert file.client is not None and file.client.name == CLIENT["name"]  # the intake worker's supervisor
    with ctx.session_factory() as s:
        assert waiting in {r.code for r in case_lists.list_cases(s, d.uid("supervisor1"))[0]}


# -- likely duplicates (issue 13, item 7) ----------------------------------------------------------
def _form(ctx, d: CaseDriver, username: str, name: str, token: str, born: str = CLIENT["date_of_birth"], **kw):
    with ctx.uow() as uow:
        return intake.submit_referral_form(uow, ctx.runtime, d.uid(username), REFERRAL,
                                           {"name": name, "date_of_birth": born}, token, **kw)


def _cases(ctx) -> int:
    with ctx.session_factory() as s:
        return s.scalar(select(func.count()).select_from(Case)) or 0


def test_names_are_compared_case_folded_without_accents_or_spaces():
    assert intake.name_key("José  de la Cruz") == intake.name_key("jose DELACRUZ") == "josedelacruz"
    assert intake.name_key("Amina Example") != intake.name_key("Amina Examples")


def test_a_likely_duplicate_is_warned_then_recorded_new_or_added_to_the_open_case(ctx):
    d = CaseDriver(ctx)
    first = d.refer(by="caseworker1", client={"name": "Amína  Example", "date_of_birth": "2014-05-01"})
    warned = _form(ctx, d, "caseworker1", "amina example", "tok-1")
    assert warned.case_code is None and [x.case_code for x in warned.duplicates] == [first]
    assert _cases(ctx) == 1  # nothing recorded yet
    assert _form(ctx, d, "caseworker1", "amina example", "tok-2", born="2014-05-02").case_code  # another birth date
    linked = _form(ctx, d, "caseworker1", "amina example", "tok-1", choice=intake.LINK, link_to=first)
    assert (linked.case_code, linked.linked) == (first, True) and _cases(ctx) == 2
    assert any("Another referral came in" in n.text for n in _file(ctx, d, "caseworker1", first).notes)
    again = _form(ctx, d, "caseworker1", "amina example", "tok-1", choice=intake.LINK, link_to=first)
    assert again.repeated and again.case_code == first  # sending the form again adds nothing
    assert sum("Another referral" in n.text for n in _file(ctx, d, "caseworker1", first).notes) == 1
    new = _form(ctx, d, "caseworker1", "Amina Example", "tok-3", choice=intake.NEW_CASE)
    assert new.case_code not in (None, first) and _cases(ctx) == 3
    resent = _form(ctx, d, "caseworker1", "Amina Example", "tok-3", choice=intake.NEW_CASE)
    assert (resent.case_code, resent.repeated, _cases(ctx)) == (new.case_code, True, 3)
    with ctx.session_factory() as s:
        told = s.scalars(select(Notification).where(Notification.kind == "likely_duplicate")).all()
    assert [(d.username(n.user_id), n.case_code) for n in told] == [("supervisor1", new.case_code)]


@SQLITE_ONLY
def test_R32_a_match_the_referrer_may_not_see_is_warned_without_its_code_or_name(ctx):
    d = CaseDriver(ctx)
    theirs = d.refer(by="caseworker1")
    d.to_registered(theirs)  # caseworker1's case now, unseen by caseworker2
    warned = _form(ctx, d, "caseworker2", CLIENT["name"], "tok-x")
    assert len(warned.duplicates) == 1 and warned.duplicates[0].case_code is None
    assert theirs not in repr(warned) and CLIENT["name"] not in repr(warned)
    with pytest.raises(Forbidden):
        _form(ctx, d, "caseworker2", CLIENT["name"], "tok-x", choice=intake.LINK, link_to=theirs)
    with pytest.raises(Invalid):
        _form(ctx, d, "caseworker2", CLIENT["name"], "tok-x", choice=intake.LINK, link_to="CM-NOPE-NOPE")
    assert _cases(ctx) == 1
