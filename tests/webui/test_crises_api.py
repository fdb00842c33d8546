"""POST /api/crises (CONTRACT) and the crisis API and pages around it."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from engine import clock
from engine.models import Case, HumanTask, OutboxMessage, User
from engine.models.crisis import Crisis

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DECLARATION = {"kind": "natural_disaster", "description": "Flood: the office is closed",
               "affected_functions": ["5.1", "5.4"]}


def _ctx(app):
    return app.extensions["engine_ctx"]


def _add_case(app, code, **fields):
    ctx = _ctx(app)
    with ctx.uow() as uow:
        worker = uow.session.scalar(select(User.id).where(User.username == "caseworker1"))
        supervisor = uow.session.scalar(select(User.id).where(User.username == "supervisor1"))
        uow.session.add(Case(code=code, status=fields.get("status", "O"), stage=fields.get("stage", "implementation"),
                             risk_level=fields.get("risk", "high"), caseworker_id=worker, supervisor_id=supervisor))
        uow.commit()


def _run_jobs(app, checks: int):
    """Let the app's task-queue worker run the crisis jobs until ``checks`` check tasks exist."""
    queue = app.extensions["task_queue"]
    queue.start_worker(threads=1, periodic=False)
    queue.relay.drain()

    def created():
        with _ctx(app).session_factory() as session:
            return len(session.scalars(select(HumanTask.id).where(HumanTask.bpmn_id == "crisis_check")).all())
    assert queue.wait_for(lambda: created() == checks, timeout_s=30)


def test_crisis_team_declares_and_gets_the_resumption_deadline_R35(client, token_for):
    """R35/R36: 201 with id and resumption_due_at = T+24 h; the BCP workflow runs."""
    clock.freeze(T0)
    resp = client.post("/api/crises", json=DECLARATION, headers=token_for("crisislead1"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["resumption_due_at"] == "2026-03-03T09:00:00+00:00"
    assert body["kind"] == "natural_disaster" and body["affected_functions"] == ["5.1", "5.4"]
    assert body["status"] == "resumption" and body["active"] is True and body["declared_by"] == "crisislead1"
    assert isinstance(body["id"], int) and isinstance(body["process_instance_id"], int)
    tasks = client.get("/api/tasks?scope=claimable", headers=token_for("crisislead1")).get_json()["tasks"]
    assert {"crt_briefing", "assign_communication_lead", "resume_5_1", "resume_5_4"} <= {t["name"] for t in tasks}


def test_only_the_crisis_team_may_declare_R35(client, token_for):
    for username in ("caseworker1", "supervisor1", "director1", "admin"):
        resp = client.post("/api/crises", json=DECLARATION, headers=token_for(username))
        assert resp.status_code == 403, username
        assert resp.get_json()["error"] == "forbidden"
    assert client.post("/api/crises", json=DECLARATION).status_code == 401


def test_unknown_sub_function_or_kind_is_422_and_declares_nothing(client, token_for, app):
    headers = token_for("crisislead1")
    resp = client.post("/api/crises", json={**DECLARATION, "affected_functions": ["5.1", "5.9"]}, headers=headers)
    assert resp.status_code == 422
    assert "5.9" in resp.get_json()["errors"]["affected_functions"][0]
    resp = client.post("/api/crises", json={**DECLARATION, "kind": "alien_invasion", "description": " "},
                       headers=headers)
    assert resp.status_code == 422 and {"kind", "description"} <= set(resp.get_json()["errors"])
    assert client.post("/api/crises", json={**DECLARATION, "affected_functions": []},
                       headers=headers).status_code == 422
    assert client.post("/api/crises", data="not json", headers={**headers, "Content-Type": "application/json"}
                       ).status_code == 400
    with _ctx(app).session_factory() as session:
        assert session.scalar(select(Crisis.id)) is None


def test_second_declaration_while_one_is_active_is_409_naming_it(client, token_for):
    headers = token_for("crisislead1")
    first = client.post("/api/crises", json=DECLARATION, headers=headers).get_json()
    resp = client.post("/api/crises", json={**DECLARATION, "kind": "it_failure"}, headers=headers)
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["error"] == "conflict" and body["active_crisis_id"] == first["id"]
    assert f"crisis {first['id']}" in body["message"]
    assert client.get("/api/crises/active", headers=headers).get_json()["id"] == first["id"]


def test_disruption_log_is_timestamped_by_crisis_team_and_immutable_R39(client, token_for):
    clock.freeze(T0)
    headers = token_for("crisislead1")
    crisis_id = client.post("/api/crises", json=DECLARATION, headers=headers).get_json()["id"]
    clock.freeze(T0 + dt.timedelta(minutes=30))
    resp = client.post(f"/api/crises/{crisis_id}/log", json={"kind": "action", "text": "Hotline opened"},
                       headers=headers)
    assert resp.status_code == 201
    entry = resp.get_json()
    assert entry["at"] == "2026-03-02T09:30:00+00:00" and entry["author"] == "crisislead1"
    assert client.post(f"/api/crises/{crisis_id}/log", json={"kind": "action", "text": "x"},
                       headers=token_for("caseworker1")).status_code == 403
    assert client.post(f"/api/crises/{crisis_id}/log", json={"kind": "gossip", "text": "x"},
                       headers=headers).status_code == 422
    for method in (client.put, client.patch, client.delete):
        assert method(f"/api/crises/{crisis_id}/log", json={"text": "changed"}, headers=headers).status_code == 405
        assert method(f"/api/crises/{crisis_id}/log/{entry['id']}", headers=headers).status_code in (404, 405)
    log = client.get(f"/api/crises/{crisis_id}/log", headers=token_for("director1")).get_json()
    assert [e["text"] for e in log["entries"]][-1] == "Hotline opened"
    assert log["entries"][0]["text"].startswith("Disruption declared")
    assert client.get(f"/api/crises/{crisis_id}/log", headers=token_for("caseworker1")).status_code == 403


def test_fan_out_dashboard_checks_and_case_notes_through_the_queue_R37_R39(app, client, token_for):
    """The declaration's fan-out runs on the task queue; the dashboard counts it; a case's
    crisis notes are for the people on the case and the crisis team."""
    _add_case(app, "API-1", risk="high")
    _add_case(app, "API-2", risk="low", stage="review")
    _add_case(app, "API-3", risk="high", status="C", stage="closed")
    headers = token_for("crisislead1")
    crisis_id = client.post("/api/crises", json=DECLARATION, headers=headers).get_json()["id"]
    _run_jobs(app, checks=2)
    board = client.get(f"/api/crises/{crisis_id}/dashboard", headers=headers).get_json()
    assert board["checks"]["total"] == 2 and board["checks"]["tasks_created"] == 2
    assert board["checks"]["by_risk"]["high"]["remaining"] == 1
    assert 0 < board["seconds_to_resumption_deadline"] <= 24 * 3600
    assert [f["status"] for f in board["functions"] if f["affected"]] == ["in_progress", "in_progress"]
    assert client.post(f"/api/crises/{crisis_id}/checks/fan-out", headers=token_for("caseworker1")).status_code == 403
    assert client.post(f"/api/crises/{crisis_id}/checks/fan-out", headers=headers).status_code == 202
    with _ctx(app).session_factory() as session:  # asked again (idempotent: tests/engine/test_crisis_fanout.py)
        assert len(session.scalars(select(OutboxMessage).where(OutboxMessage.actor == "crisis_plan_checks")).all()) == 2
    checks = client.get(f"/api/crises/{crisis_id}/checks", headers=headers).get_json()
    assert [c["case_code"] for c in checks["checks"]] == ["API-1", "API-2"]
    assert checks["checks"][0]["assignee"] == "caseworker1" and checks["checks"][0]["due_at"]
    mine = client.get("/api/tasks?scope=mine", headers=token_for("caseworker1")).get_json()["tasks"]
    assert {t["case_code"] for t in mine if t["name"] == "crisis_check"} == {"API-1", "API-2"}
    assert client.get(f"/api/crises/{crisis_id}/checks", headers=token_for("supervisor1")).status_code == 403
    assert client.get(f"/api/crises/{crisis_id}/dashboard", headers=token_for("supervisor1")).status_code == 200

    note = {"kind": "alternative_method", "alternative_methods": ["phone_follow_up"], "text": "weekly calls"}
    resp = client.post(f"/api/crises/{crisis_id}/cases/API-1/notes", json=note, headers=token_for("caseworker1"))
    assert resp.status_code == 201 and resp.get_json()["alternative_methods"] == ["phone_follow_up"]
    assert client.post(f"/api/crises/{crisis_id}/cases/API-1/notes", json=note,
                       headers=token_for("committee1")).status_code == 403
    assert client.post(f"/api/crises/{crisis_id}/cases/NOPE/notes", json=note, headers=headers).status_code == 404
    assert client.post(f"/api/crises/{crisis_id}/cases/API-1/notes", json={"kind": "check", "text": "x"},
                       headers=headers).status_code == 422
    notes = client.get(f"/api/crises/{crisis_id}/cases/API-1/notes", headers=token_for("supervisor1")).get_json()
    assert [(n["kind"], n["author"]) for n in notes["notes"]] == [("alternative_method", "caseworker1")]
    report = client.get(f"/api/crises/{crisis_id}/data-validation", headers=headers).get_json()
    assert report["total"] >= 1 and any(r["case_code"] == "API-1" for r in report["records"])


def test_readiness_programme_is_scheduled_once_R41(client, token_for):
    headers = token_for("crisislead1")
    assert client.get("/api/crises/readiness", headers=headers).get_json()["activities"] == []
    first = client.post("/api/crises/readiness", headers=headers).get_json()["activities"]
    assert {a["activity"] for a in first} >= {"bcp_review", "crisis_drill", "backup_restore_test",
                                               "contact_list_review"}
    assert all(a["next_due_at"] for a in first)
    again = client.post("/api/crises/readiness", headers=token_for("processowner1")).get_json()["activities"]
    assert again == first
    assert client.post("/api/crises/readiness", headers=token_for("caseworker1")).status_code == 403


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _sign_in(client, username):
    page = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"username": username, "password": "demo", "csrf_token": _csrf(page)})
    assert resp.status_code == 302


def test_crisis_pages_declare_and_show_the_dashboard(client):
    _sign_in(client, "crisislead1")
    page = client.get("/crisis")
    assert page.status_code == 200 and "Declare a disruption" in page.get_data(as_text=True)
    token = _csrf(page.get_data(as_text=True))
    bad = client.post("/crisis/declare", data={"csrf_token": token, "kind": "pandemic", "description": ""})
    assert bad.status_code == 422
    resp = client.post("/crisis/declare", data={"csrf_token": token, "kind": "pandemic",
                                                "description": "Half the staff are ill",
                                                "affected_functions": ["5.2", "5.4"]})
    assert resp.status_code == 302 and re.search(r"/crisis/\d+$", resp.headers["Location"])
    board = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Disruption #" in board and "left until T+24 h" in board and "5.2 Case Management Planning" in board
    crisis_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    added = client.post(f"/crisis/{crisis_id}/log", data={"csrf_token": token, "kind": "decision",
                                                          "text": "Staff work from home"})
    assert added.status_code == 302
    assert "Staff work from home" in client.get(f"/crisis/{crisis_id}").get_data(as_text=True)
    assert client.get(f"/crisis/{crisis_id}/data-validation").status_code == 200


def test_crisis_pages_refuse_people_without_a_crisis_role(client):
    _sign_in(client, "caseworker1")
    assert client.get("/crisis").status_code == 403
