"""``/api/users`` and ``/api/teams`` (CONTRACT, second set): administrators add people, change
their roles, supervisor, team and availability, and deactivate them — which ends every
session and token at once and hands their claimed tasks back to their roles."""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.models import AuditEvent
from tests.webui.test_api import claimable, start_sample

NEW_CASEWORKER = {"username": "caseworker3", "display_name": "Caseworker Three", "roles": ["caseworker"],
                  "supervisor": "supervisor1", "password": "a long password"}


def add(client, admin, **changes):
    return client.post("/api/users", json={**NEW_CASEWORKER, **changes}, headers=admin)


def change(client, admin, username, **body):
    return client.patch(f"/api/users/{username}", json=body, headers=admin)


def sign_in(client, username, password="demo"):
    return client.post("/api/auth/token", json={"username": username, "password": password})


def bearer(resp) -> dict:
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}


def claimed_sample_task(client, headers) -> str:
    """A sample task the holder of ``headers`` started and claimed."""
    start_sample(client, headers)
    [task] = claimable(client, headers)
    assert client.post(f"/api/tasks/{task['id']}/claim", headers=headers).status_code == 200
    return task["id"]


def test_an_admin_adds_a_caseworker_who_signs_in_and_is_offered_caseworker_work(client, token_for):
    admin = token_for("admin")
    resp = add(client, admin)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body == {"username": "caseworker3", "display_name": "Caseworker Three", "email": None,
                    "roles": ["caseworker"], "supervisor": "supervisor1", "team": None, "available": True,
                    "active": True, "locale": None, "single_sign_on": False}
    assert "password" not in body
    listed = client.get("/api/users", headers=admin).get_json()
    assert "caseworker3" in [u["username"] for u in listed["users"]] and listed["total"] == len(listed["users"])

    newcomer = bearer(sign_in(client, "caseworker3", "a long password"))
    start_sample(client, token_for("caseworker1"))
    [task] = claimable(client, newcomer)
    assert task["role"] == "caseworker"
    # their supervisor sees the work they take
    assert client.post(f"/api/tasks/{task['id']}/claim", headers=newcomer).status_code == 200
    team = client.get("/api/tasks?scope=team", headers=token_for("supervisor1")).get_json()["tasks"]
    assert task["id"] in [t["id"] for t in team]


def test_only_admins_manage_people_and_teams(client, token_for):
    for who in ("caseworker1", "supervisor1", "director1"):
        headers = token_for(who)
        assert client.get("/api/users", headers=headers).status_code == 403
        assert add(client, headers).status_code == 403
        assert change(client, headers, "caseworker2", active=False).status_code == 403
        assert client.post("/api/teams", json={"name": "North"}, headers=headers).status_code == 403
    assert client.get("/api/users").status_code == 401
    assert client.post("/api/users", json=NEW_CASEWORKER).status_code == 401
    assert sign_in(client, "caseworker2").status_code == 200  # nothing was changed


def test_a_refused_new_account_names_what_is_wrong_and_creates_nothing(client, token_for):
    admin = token_for("admin")
    cases = [({"username": "caseworker1"}, "username"), ({"password": "short"}, "password"),
             ({"roles": ["wizard"]}, "roles.0"), ({"roles": []}, "roles"), ({"supervisor": "nobody"}, "supervisor"),
             ({"supervisor": "caseworker1"}, "supervisor"), ({"team": "No such team"}, "team"),
             ({"username": "has space"}, "username"), ({"display_name": "two\nlines"}, "display_name")]
    for changes, field in cases:
        resp = add(client, admin, **changes)
        assert resp.status_code == 422, (changes, resp.get_json())
        assert field in resp.get_json()["errors"], (changes, resp.get_json())
    assert sign_in(client, "caseworker3", "a long password").status_code == 401
    assert client.get("/api/users/caseworker3", headers=admin).status_code == 404


def test_deactivating_ends_every_token_and_hands_claimed_tasks_back(app, client, token_for):
    admin = token_for("admin")
    first, second = bearer(sign_in(client, "caseworker1")), bearer(sign_in(client, "caseworker1"))
    task_id = claimed_sample_task(client, first)

    resp = change(client, admin, "caseworker1", active=False)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["active"] is False
    assert resp.get_json()["sessions_ended"] == 2 and resp.get_json()["tasks_handed_back"] == 1
    for token in (first, second):
        assert client.get("/api/tasks?scope=mine", headers=token).status_code == 401
    assert sign_in(client, "caseworker1").status_code == 401
    offered = claimable(client, token_for("caseworker2"))
    assert task_id in [t["id"] for t in offered]  # back with the caseworker role, for a colleague to take
    with app.extensions["engine_ctx"].uow() as work:
        actions = list(work.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert {"user_deactivated", "sessions_ended", "task_handed_back"} <= set(actions)

    assert change(client, admin, "caseworker1", active=True).get_json()["active"] is True
    assert sign_in(client, "caseworker1").status_code == 200


def test_on_leave_their_claimed_tasks_go_back_and_new_cases_pass_them_by(client, token_for):
    admin, cw1 = token_for("admin"), token_for("caseworker1")
    task_id = claimed_sample_task(client, cw1)
    resp = change(client, admin, "caseworker1", available=False)
    assert resp.status_code == 200 and resp.get_json()["tasks_handed_back"] == 1
    assert resp.get_json()["available"] is False
    assert client.get("/api/tasks?scope=mine", headers=cw1).get_json()["tasks"] == []  # still signed in, unburdened
    assert task_id in [t["id"] for t in claimable(client, token_for("caseworker2"))]
    dashboard = client.get("/api/users/caseworker1", headers=admin).get_json()
    assert dashboard["available"] is False and dashboard["active"] is True
    assert change(client, admin, "caseworker1", available=True).get_json()["available"] is True


def test_taking_a_role_away_hands_back_the_tasks_held_for_it(client, token_for):
    admin = token_for("admin")
    resp = change(client, admin, "supervisor1", roles=["supervisor", "committee_member", "caseworker"])
    assert resp.status_code == 200
    sup = bearer(sign_in(client, "supervisor1"))
    task_id = claimed_sample_task(client, sup)
    resp = change(client, admin, "supervisor1", roles=["supervisor", "committee_member"])
    assert resp.status_code == 200 and resp.get_json()["tasks_handed_back"] == 1
    assert resp.get_json()["roles"] == ["supervisor", "committee_member"]
    assert task_id in [t["id"] for t in claimable(client, token_for("caseworker2"))]


def test_an_admin_cannot_lock_themselves_out_and_the_last_admin_stays(client, token_for):
    admin = token_for("admin")
    for body, field in (({"roles": ["caseworker"]}, "roles"), ({"active": False}, "active")):
        resp = change(client, admin, "admin", **body)
        assert resp.status_code == 422 and field in resp.get_json()["errors"], resp.get_json()
    assert add(client, admin, username="admin2", roles=["admin"], supervisor=None).status_code == 201
    second = bearer(sign_in(client, "admin2", "a long password"))
    assert change(client, second, "admin", roles=["caseworker"]).status_code == 200  # another admin may
    assert client.get("/api/users", headers=admin).status_code == 403  # and the change counts at once
    resp = change(client, second, "admin2", roles=["supervisor"])
    assert resp.status_code == 422 and "roles" in resp.get_json()["errors"]  # nor may admin2 on themselves


def test_supervisor_and_team_change_and_the_new_supervisor_sees_the_work(client, token_for):
    admin = token_for("admin")
    assert client.post("/api/teams", json={"name": "North office"}, headers=admin).status_code == 201
    assert client.post("/api/teams", json={"name": "North office"}, headers=admin).status_code == 422
    assert add(client, admin, username="supervisor2", roles=["supervisor"], supervisor="director1").status_code == 201
    resp = change(client, admin, "caseworker2", supervisor="supervisor2", team="North office")
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["supervisor"], resp.get_json()["team"]) == ("supervisor2", "North office")
    teams = client.get("/api/teams", headers=admin).get_json()["teams"]
    assert {"name": "North office", "members": 1} in teams

    task_id = claimed_sample_task(client, token_for("caseworker2"))
    new_boss = bearer(sign_in(client, "supervisor2", "a long password"))
    assert task_id in [t["id"] for t in client.get("/api/tasks?scope=team", headers=new_boss).get_json()["tasks"]]
    old_boss = client.get("/api/tasks?scope=team", headers=token_for("supervisor1")).get_json()["tasks"]
    assert task_id not in [t["id"] for t in old_boss]

    cleared = change(client, admin, "caseworker2", supervisor=None, team=None).get_json()
    assert (cleared["supervisor"], cleared["team"]) == (None, None)


def test_supervision_has_no_loops_and_a_refused_change_changes_nothing(client, token_for):
    admin = token_for("admin")
    resp = change(client, admin, "director1", supervisor="supervisor1")  # supervisor1 reports to director1
    assert resp.status_code == 422 and "supervisor" in resp.get_json()["errors"]
    assert change(client, admin, "supervisor1", supervisor="supervisor1").status_code == 422
    before = client.get("/api/users/caseworker1", headers=admin).get_json()
    resp = change(client, admin, "caseworker1", roles=["caseworker", "crisis_team"], supervisor="committee1")
    assert resp.status_code == 422
    assert client.get("/api/users/caseworker1", headers=admin).get_json() == before


def test_an_admin_sets_a_password_and_every_old_sign_in_ends(client, token_for):
    admin, old = token_for("admin"), bearer(sign_in(client, "caseworker2"))
    assert change(client, admin, "caseworker2", password="short").status_code == 422
    resp = change(client, admin, "caseworker2", password="a brand new passphrase")
    assert resp.status_code == 200 and resp.get_json()["sessions_ended"] == 1
    assert client.get("/api/tasks?scope=mine", headers=old).status_code == 401
    assert sign_in(client, "caseworker2").status_code == 401
    assert sign_in(client, "caseworker2", "a brand new passphrase").status_code == 200


def test_bad_input_is_a_4xx_never_a_5xx(client, token_for):
    admin = token_for("admin")
    assert client.get("/api/users/" + "x" * 81, headers=admin).status_code == 404
    assert client.get("/api/users/nobody", headers=admin).status_code == 404
    assert change(client, admin, "nobody", active=False).status_code == 404
    assert client.get("/api/users?limit=99999999999999999999", headers=admin).status_code == 422
    assert client.get("/api/users?offset=-1", headers=admin).status_code == 422
    for body in ({"is_admin": True}, {"roles": "admin"}, {"active": "perhaps"}, {"roles": ["admin"] * 50},
                 {"supervisor": "s" * 81}):
        resp = client.patch("/api/users/caseworker1", data=json.dumps(body), content_type="application/json",
                            headers=admin)
        assert resp.status_code == 422, (body, resp.get_json())
    assert sign_in(client, "caseworker1").status_code == 200
