"""The administrators' People pages: the list, adding someone, changing roles, supervisor and
team, leave and deactivation — through the real forms (CSRF and all)."""
from __future__ import annotations

import re

import pytest

from tests.webui.test_api import claimable, start_sample
from tests.webui.test_pages_support import csrf_from, page_token, sign_in

# the rules behind these pages run on both databases in test_users_api.py; pages on the embedded one
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TAGS = re.compile(r"<[^>]+>")


def words(html: str) -> str:
    """What a person reads on the page (tags dropped)."""
    return " ".join(TAGS.sub(" ", html).split())


def post_form(client, path: str, form_page: str, **fields):
    return client.post(path, data={"csrf_token": page_token(client, form_page), **fields})


def test_admins_find_people_in_the_navigation_and_nobody_else_does(app):
    admin = sign_in(app, "admin")
    assert 'href="/admin/people"' in admin.get("/").get_data(as_text=True)
    for username in ("caseworker1", "supervisor1", "director1"):
        user = sign_in(app, username)
        assert 'href="/admin/people"' not in user.get("/").get_data(as_text=True)
        assert user.get("/admin/people").status_code == 403
        assert user.get("/admin/people/caseworker1").status_code == 403
    assert app.test_client().get("/admin/people").status_code == 302  # to the sign-in form


def test_the_people_page_lists_everyone_with_labels_for_their_roles(app):
    html = sign_in(app, "admin").get("/admin/people").get_data(as_text=True)
    text = words(html)
    for name in ("Caseworker One", "Supervisor One", "Director One", "Crisis Lead One"):
        assert name in text
    assert "Supervisor, Project director, Committee member" in text  # director1's roles, in words
    assert "Crisis response team" in text
    for raw in ("committee_member", "crisis_team", "process_owner"):
        assert raw not in text
    row = re.search(r'<tr data-username="caseworker1">(.*?)</tr>', html, re.S).group(1)
    assert "supervisor1" in row and "available" in row


def test_an_admin_adds_someone_through_the_form_and_they_can_sign_in(app):
    admin = sign_in(app, "admin")
    resp = post_form(admin, "/admin/people", "/admin/people", username="fieldworker", display_name="Field Worker",
                     password="a long password", roles=["caseworker", "crisis_team"], supervisor="supervisor1")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/people/fieldworker")
    page = words(admin.get("/admin/people/fieldworker").get_data(as_text=True))
    assert "Added Field Worker (fieldworker)" in page
    newcomer = sign_in(app, "fieldworker", "a long password")
    assert "<h1>Inbox</h1>" in newcomer.get("/").get_data(as_text=True)


def test_a_refused_add_shows_the_reasons_and_keeps_what_was_typed(app):
    admin = sign_in(app, "admin")
    resp = post_form(admin, "/admin/people", "/admin/people", username="fieldworker", display_name="Field Worker",
                     password="short", roles=["caseworker"])
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "use at least 8 characters" in html and 'value="fieldworker"' in html and 'aria-invalid="true"' in html
    resp = post_form(admin, "/admin/people", "/admin/people", username="fieldworker", password="a long password")
    assert resp.status_code == 422 and "choose at least one role" in resp.get_data(as_text=True)
    assert admin.get("/admin/people/fieldworker").status_code == 404


def test_roles_team_and_supervisor_change_on_the_person_page(app):
    admin = sign_in(app, "admin")
    resp = post_form(admin, "/admin/teams", "/admin/people", name="Tripoli office")
    assert resp.status_code == 302
    resp = post_form(admin, "/admin/people/caseworker2", "/admin/people/caseworker2", display_name="Caseworker Two",
                     roles=["caseworker", "committee_member"], supervisor="director1", team="Tripoli office")
    assert resp.status_code == 302
    page = admin.get("/admin/people/caseworker2").get_data(as_text=True)
    assert "Saved the changes to Caseworker Two" in words(page)
    assert re.search(r'value="committee_member" checked', page)
    assert re.search(r'<option value="director1" selected>', page) and re.search(
        r'<option value="Tripoli office" selected>', page)
    listing = words(admin.get("/admin/people").get_data(as_text=True))
    assert "Tripoli office (1 person)" in listing


def test_leave_from_the_page_hands_back_claimed_work_and_the_supervisor_sees_them_away(app, client, token_for):
    cw1 = token_for("caseworker1")
    start_sample(client, cw1)
    [task] = claimable(client, cw1)
    assert client.post(f"/api/tasks/{task['id']}/claim", headers=cw1).status_code == 200
    admin = sign_in(app, "admin")
    resp = post_form(admin, "/admin/people/caseworker1/availability", "/admin/people/caseworker1", available="no")
    assert resp.status_code == 302
    page = words(admin.get("/admin/people/caseworker1").get_data(as_text=True))
    assert "Caseworker One is on leave" in page and "1 claimed task went back to its role" in page
    assert "Mark as back from leave" in page
    assert task["id"] in [t["id"] for t in claimable(client, token_for("caseworker2"))]
    dashboard = sign_in(app, "supervisor1").get("/dashboard").get_data(as_text=True)
    assert re.search(r"<td>caseworker1</td>.*?<td[^>]*>away</td>", dashboard, re.S)


def test_deactivating_from_the_page_signs_them_out_of_their_browser(app):
    worker = sign_in(app, "caseworker1")
    assert "<h1>Inbox</h1>" in worker.get("/").get_data(as_text=True)
    admin = sign_in(app, "admin")
    resp = post_form(admin, "/admin/people/caseworker1/active", "/admin/people/caseworker1", active="no")
    assert resp.status_code == 302
    assert "Deactivated Caseworker One" in words(admin.get("/admin/people/caseworker1").get_data(as_text=True))
    assert 'name="password"' in worker.get("/").get_data(as_text=True)  # signed out on the server
    listing = admin.get("/admin/people").get_data(as_text=True)
    assert 'data-username="caseworker1"' in listing.split("Deactivated accounts")[1]
    resp = post_form(admin, "/admin/people/caseworker1/active", "/admin/people/caseworker1", active="yes")
    assert resp.status_code == 302 and sign_in(app, "caseworker1")


def test_an_admin_cannot_deactivate_themselves_and_forms_need_their_token(app):
    admin = sign_in(app, "admin")
    own = admin.get("/admin/people/admin").get_data(as_text=True)
    assert "Deactivate the account" not in own and "You cannot deactivate your own account" in own
    resp = post_form(admin, "/admin/people/admin/active", "/admin/people/admin", active="no")
    assert resp.status_code == 422 and "you cannot deactivate your own account" in resp.get_data(as_text=True)
    forged = admin.post("/admin/people", data={"username": "intruder", "password": "a long password",
                                              "roles": ["admin"]})
    assert forged.status_code == 400
    token = csrf_from(admin.get("/admin/people").get_data(as_text=True))
    assert admin.post("/admin/people/admin/active", data={"active": "no", "csrf_token": token + "x"}).status_code == 400
    assert admin.get("/admin/people/intruder").status_code == 404
