"""An administrator unlinks an account from its identity at the single sign-on provider (a
shared mailbox linked the wrong person, the person has a new account there): every sign-in of
it ends, that identity is never linked to it by e-mail again, a new identity with the same
verified address still can be, and the account signs in with its password meanwhile. Against
the real local provider of ``test_single_sign_on``."""
from __future__ import annotations

from sqlalchemy import select

from engine.models import AuditEvent, User
from tests.webui.test_admin_pages import post_form, words
from tests.webui.test_pages_support import sign_in
from tests.webui.test_single_sign_on import (  # noqa: F401 - fixtures
    person,
    provider,
    settings,
    signed_in,
    sso_options,
    sso_sign_in,
    text_of,
)

CASEWORKER1 = "caseworker1@demo.invalid"


def _linked(client, token_for, username: str) -> bool:
    return client.get(f"/api/users/{username}", headers=token_for("admin")).get_json()["single_sign_on"]


def _refusals(app, user_id: int) -> list[str]:
    with app.extensions["engine_ctx"].uow() as work:
        return list(work.session.scalars(select(AuditEvent.detail_json).where(
            AuditEvent.action == "sso_login_refused", AuditEvent.subject_id == str(user_id))))


def test_an_administrator_unlinks_an_account_and_that_identity_is_not_linked_by_email_again(
        app, client, provider, token_for):  # noqa: F811 - the fixture
    browser, answer = sso_sign_in(app, provider, person("shared-mailbox", ["cw-team"], email=CASEWORKER1))
    assert answer.status_code == 302 and signed_in(browser)
    assert _linked(client, token_for, "caseworker1")

    admin = sign_in(app, "admin")
    page = words(admin.get("/admin/people/caseworker1").get_data(as_text=True))
    assert "Linked to single sign-on" in page and "Unlink from single sign-on" in page
    resp = post_form(admin, "/admin/people/caseworker1/single-sign-on", "/admin/people/caseworker1")
    assert resp.status_code == 302
    page = words(admin.get("/admin/people/caseworker1").get_data(as_text=True))
    assert "Unlinked Caseworker One from single sign-on (1 sign-in ended)." in page
    assert "Unlink from single sign-on" not in page
    assert not signed_in(browser)  # whoever came in through it is out
    assert not _linked(client, token_for, "caseworker1")

    _again, refused = sso_sign_in(app, provider, person("shared-mailbox", ["cw-team"], email=CASEWORKER1))
    assert refused.status_code == 403 and "No account here belongs to you yet" in text_of(refused)
    assert not _linked(client, token_for, "caseworker1")
    with app.extensions["engine_ctx"].uow() as work:
        caseworker1 = work.session.scalar(select(User.id).where(User.username == "caseworker1"))
    assert any('"reason": "identity_unlinked"' in detail for detail in _refusals(app, caseworker1))

    assert sign_in(app, "caseworker1")  # the password still works
    own, linked = sso_sign_in(app, provider, person("cw-1-new-at-idp", ["cw-team"], email=CASEWORKER1))
    assert linked.status_code == 302 and signed_in(own)  # the person's own new identity links
    assert _linked(client, token_for, "caseworker1")


def test_the_api_unlinks_with_false_and_refuses_to_link_with_true(app, client, provider, token_for):  # noqa: F811
    browser, answer = sso_sign_in(app, provider, person("cw-2-at-idp", ["cw-team"], email="caseworker2@demo.invalid"))
    assert answer.status_code == 302
    admin = token_for("admin")
    resp = client.patch("/api/users/caseworker2", headers=admin, json={"single_sign_on": False})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["single_sign_on"] is False and body["sessions_ended"] >= 1
    assert not signed_in(browser)

    again = client.patch("/api/users/caseworker2", headers=admin, json={"single_sign_on": False})
    assert again.status_code == 200 and again.get_json()["sessions_ended"] == 0  # nothing left to unlink
    link = client.patch("/api/users/caseworker2", headers=admin, json={"single_sign_on": True})
    assert link.status_code == 422 and "single_sign_on" in link.get_json()["errors"]
    not_admin = client.patch("/api/users/caseworker1", headers=token_for("supervisor1"), json={"single_sign_on": False})
    assert not_admin.status_code == 403
