"""Languages: which one a request gets (the user's choice beats the browser's, the browser's
beats English, anything unknown is English), Arabic pages right to left, each user choosing
theirs on "My account" or through the users API, and messages in the recipient's language."""
from __future__ import annotations

import re

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from engine.models import AuditEvent, User
from engine.service_ops import notifications
from tests.webui.test_pages_support import page_token, sign_in
from webui import i18n
from webui.pages.auth import SessionUser

ARABIC = {"Accept-Language": "ar"}


def _locale_for(app, monkeypatch, user, accept_language: str | None) -> str:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    with app.test_request_context("/", headers=headers):
        monkeypatch.setattr(i18n, "current_user", user)
        return i18n.select_locale()


def _user(locale: str | None) -> SessionUser:
    return SessionUser(1, "caseworker1", "Caseworker One", frozenset({"caseworker"}), locale)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_users_choice_beats_the_browser(app, monkeypatch):
    assert _locale_for(app, monkeypatch, _user("ar"), "en-GB,en;q=0.9") == "ar"
    assert _locale_for(app, monkeypatch, _user("en"), "ar") == "en"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_browser_beats_the_default_when_the_user_chose_nothing(app, monkeypatch):
    assert _locale_for(app, monkeypatch, _user(None), "fr;q=0.9, ar-SY;q=0.8, en;q=0.5") == "ar"
    assert _locale_for(app, monkeypatch, AnonymousUserMixin(), "ar-JO") == "ar"
    assert _locale_for(app, monkeypatch, AnonymousUserMixin(), None) == "en"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unknown_language_is_english(app, monkeypatch):
    assert _locale_for(app, monkeypatch, _user("xx"), "de, fr;q=0.5") == "en"
    assert _locale_for(app, monkeypatch, AnonymousUserMixin(), "tlh") == "en"


def test_current_locale_outside_a_request_is_english():
    assert i18n.current_locale() == "en"
    assert i18n.text_direction("ar") == "rtl" and i18n.text_direction("en") == "ltr"


def _set_language(app, username: str, locale: str | None) -> None:
    with app.extensions["engine_ctx"].session_factory() as session:
        session.scalars(select(User).where(User.username == username)).one().locale = locale
        session.commit()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_arabic_speaking_caseworker_gets_right_to_left_pages_in_arabic(app):
    _set_language(app, "caseworker1", "ar")
    html = sign_in(app, "caseworker1").get("/").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    nav = html.split('class="main-nav"')[1].split("</nav>")[0]
    assert "صندوق المهام" in nav and "الحالات" in nav and "Inbox" not in nav
    assert "تسجيل الخروج" in html and "Sign out" not in html


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stranger_gets_the_sign_in_page_in_the_browsers_language_and_english_stays_as_it_was(app):
    client = app.test_client()
    arabic = client.get("/", headers=ARABIC).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "تسجيل الدخول" in arabic
    english = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in english and "<h1>Sign in</h1>" in english and 'name="csrf_token"' in english


def test_a_user_chooses_their_language_on_my_account_and_the_change_is_audited(app):
    user = sign_in(app, "caseworker2")
    assert user.post("/account/language", data={"locale": "ar"}).status_code == 400  # no CSRF token: refused
    resp = user.post("/account/language", data={"locale": "ar", "csrf_token": page_token(user, "/account")})
    assert resp.status_code == 302
    page = user.get("/account").get_data(as_text=True)
    assert 'dir="rtl"' in page and "حُفظت لغتك" in page
    assert re.search(r'value="ar" checked', page)
    with app.extensions["engine_ctx"].session_factory() as session:
        who = session.scalars(select(User).where(User.username == "caseworker2")).one()
        assert who.locale == "ar"
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(who.id))).all()
    assert "user_language_changed" in actions
    user.post("/account/language", data={"locale": "", "csrf_token": page_token(user, "/account")})
    assert '<html lang="en">' in user.get("/account").get_data(as_text=True)  # back to the browser's: English


def test_the_users_api_reads_and_sets_the_language_and_refuses_an_unknown_one(client, token_for):
    admin = token_for("admin")
    assert client.get("/api/users/caseworker1", headers=admin).get_json()["locale"] is None
    changed = client.patch("/api/users/caseworker1", headers=admin, json={"locale": "ar"})
    assert changed.status_code == 200 and changed.get_json()["locale"] == "ar"
    listed = client.get("/api/users", headers=admin).get_json()["users"]
    assert next(u for u in listed if u["username"] == "caseworker1")["locale"] == "ar"
    refused = client.patch("/api/users/caseworker1", headers=admin, json={"locale": "klingon"})
    assert refused.status_code == 422 and "locale" in refused.get_json()["errors"]
    assert client.patch("/api/users/caseworker1", headers=admin, json={"locale": None}).get_json()["locale"] is None
    added = client.post("/api/users", headers=admin, json={"username": "caseworker9", "display_name": "Caseworker Nine",
                                                           "roles": ["caseworker"], "password": "long enough 1",
                                                           "locale": "ar"})
    assert added.status_code == 201 and added.get_json()["locale"] == "ar"
    unknown = client.post("/api/users", headers=admin, json={"username": "caseworker8", "roles": ["caseworker"],
                                                             "password": "long enough 1", "locale": "fr"})
    assert unknown.status_code == 422


def test_the_engine_writes_messages_in_a_language_without_flask():
    from engine.service_ops import translations
    assert translations.gettext("ar", "Due %(when)s UTC.", when="x") == "الموعد x بالتوقيت العالمي (UTC)."
    assert translations.gettext("xx", "Due %(when)s UTC.", when="x") == "Due x UTC."  # unknown: English
    assert translations.gettext(None, "Case: %(code)s", code="C-1") == "Case: C-1"
    forms = [translations.ngettext("ar", "%(num)s task", "%(num)s tasks", n) for n in (1, 2, 5, 12)]
    assert forms == ["مهمة واحدة", "مهمتان", "5 مهام", "12 مهمة"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_dates_on_arabic_pages_are_written_for_arabic_readers(app):
    import datetime as dt
    moment = dt.datetime(2026, 12, 1, 15, 7, tzinfo=dt.UTC)
    with app.test_request_context("/", headers=ARABIC):
        assert i18n.format_datetime(moment) == "01 ديسمبر 2026 15:07"
        assert i18n.format_number(8000) == "8,000"
    with app.test_request_context("/"):
        assert i18n.format_datetime(moment) == "01 Dec 2026 15:07"  # English as the pages always wrote it


def test_messages_are_written_in_each_recipients_language(ctx):
    with ctx.session_factory() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        users["caseworker1"].locale = "ar"
        session.commit()
        ids = users["caseworker1"].id, users["caseworker2"].id
    with ctx.uow() as uow:
        notifications.notify(uow, ids, "referral_added",
                             notifications.translations.words("Another referral for case %(code)s", code="C-9"))
        uow.commit()
    with ctx.session_factory() as session:
        subjects = dict(session.execute(select(notifications.Notification.user_id, notifications.Notification.subject)
                                        .where(notifications.Notification.kind == "referral_added")).all())
    assert subjects == {ids[0]: "إحالة أخرى للحالة C-9", ids[1]: "Another referral for case C-9"}


ARABIC_PAGES = {  # who opens which page families
    "caseworker1": ["/", "/?scope=claimable", "/cases", "/cases/new", "/notifications", "/account"],
    "supervisor1": ["/dashboard", "/cases", "/?scope=team"],
    "committee1": ["/committee"],
    "crisislead1": ["/crisis"],
    "admin": ["/admin/people", "/admin/people/caseworker1"],
    "processowner1": ["/models"],
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("username", sorted(ARABIC_PAGES))
def test_every_page_family_renders_in_arabic_right_to_left(app, username):
    _set_language(app, username, "ar")
    user = sign_in(app, username)
    for path in ARABIC_PAGES[username]:
        resp = user.get(path)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, (path, html[:300])
        assert '<html lang="ar" dir="rtl">' in html, path
        assert "تسجيل الخروج" in html and ">Sign out<" not in html, path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pages_with_the_most_filled_in_words_render_in_arabic(app, client, token_for):
    from tests.webui.test_pages_support import refer, task_of
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    drill = client.post("/api/crises", headers=token_for("crisislead1"),
                        json={"kind": "it_failure", "description": "Server room flooded", "drill": True,
                              "affected_functions": ["5.1", "5.4"]})
    assert drill.status_code == 201, drill.get_json()
    crisis_id = drill.get_json()["id"]
    model_id = client.get("/api/process-models", headers=token_for("processowner1")).get_json()["models"][0]["id"]
    pages = {"caseworker1": [f"/tasks/{task['id']}", f"/cases/{code}", f"/cases/{code}/summary"],
             "crisislead1": [f"/crisis/{crisis_id}", f"/crisis/{crisis_id}/report",
                             f"/crisis/{crisis_id}/data-validation"],
             "processowner1": [f"/models/{model_id}", "/models"]}
    for username, paths in pages.items():
        _set_language(app, username, "ar")
        user = sign_in(app, username)
        for path in paths:
            resp = user.get(path)
            assert resp.status_code == 200, (path, resp.get_data(as_text=True)[:300])
            html = resp.get_data(as_text=True)
            assert '<html lang="ar" dir="rtl">' in html and "تمرين جارٍ" in html, path  # the drill's banner too


def test_an_e_mail_is_framed_in_its_recipients_language(ctx):
    import datetime as dt
    with ctx.session_factory() as session:
        user = session.scalars(select(User).where(User.username == "caseworker1")).one()
        user.locale, user.email = "ar", "cw1@example.org"
        session.commit()
        user_id = user.id
    with ctx.uow() as uow:
        notifications.notify(uow, [user_id], "referral_added",
                             notifications.translations.words("Another referral for case %(code)s", code="C-9"),
                             body=notifications.translations.words("Read it in the case file's notes."),
                             case_code="C-9", link="/cases/C-9")
        uow.commit()
    with ctx.session_factory() as session:
        note_id = session.scalars(select(notifications.Notification.id)
                                  .where(notifications.Notification.user_id == user_id)).one()
    with ctx.uow() as uow:
        mail = notifications.claim_mail(uow, note_id, "casework@example.org", "https://casework.example.org",
                                        dt.timedelta(minutes=5))
    assert mail is not None
    assert mail.message["Subject"] == "إحالة أخرى للحالة C-9"
    text = mail.message.get_content()
    assert "اقرأها في ملاحظات ملف الحالة." in text and "الحالة: C-9" in text
    assert "https://casework.example.org/cases/C-9" in text and "يُرجى عدم الرد" in text
