"""The HTTP API of CONTRACT.md: auth, tasks, errors, OpenAPI, health."""
from __future__ import annotations


def start_sample(client, headers):
    resp = client.post("/api/processes/sample_intake/instances", json={"data": {}}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def claimable(client, headers):
    resp = client.get("/api/tasks?scope=claimable", headers=headers)
    assert resp.status_code == 200
    return resp.get_json()["tasks"]


def test_healthz_reports_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"


def test_token_for_right_credentials_and_401_for_wrong(client):
    assert client.post("/api/auth/token", json={"username": "caseworker1", "password": "demo"}).status_code == 200
    resp = client.post("/api/auth/token", json={"username": "caseworker1", "password": "nope"})
    assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"
    resp = client.post("/api/auth/token", json={"username": "nobody", "password": "demo"})
    assert resp.status_code == 401


def test_repeated_failed_logins_pause_the_account_with_the_same_answer(client):
    for _ in range(5):
        client.post("/api/auth/token", json={"username": "caseworker2", "password": "wrong"})
    resp = client.post("/api/auth/token", json={"username": "caseworker2", "password": "demo"})
    assert resp.status_code == 401 and resp.get_json()["message"] == "wrong username or password"


def test_calls_without_a_token_are_401_in_json(client):
    resp = client.get("/api/tasks?scope=mine")
    assert resp.status_code == 401
    assert set(resp.get_json()) >= {"error", "message", "errors"}
    resp = client.get("/api/tasks", headers={"Authorization": "Bearer forged.token"})
    assert resp.status_code == 401


def test_malformed_json_is_400_not_500(client, token_for):
    resp = client.post("/api/auth/token", data="{not json", content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["error"] == "bad_request"


def test_missing_fields_are_422_with_field_errors(client):
    resp = client.post("/api/auth/token", json={"username": "x"})
    assert resp.status_code == 422 and "password" in resp.get_json()["errors"]


def test_task_walkthrough_through_the_api(client, token_for):
    cw = token_for("caseworker1")
    start_sample(client, cw)
    [task] = claimable(client, cw)
    detail = client.get(f"/api/tasks/{task['id']}", headers=cw).get_json()
    assert {"id", "name", "title", "case_code", "role", "assignee", "due_at", "priority", "form"} <= set(detail)
    assert detail["form"]["type"] == "object" and "red_needs" in detail["form"]["properties"]
    assert detail["due_at"].endswith("+00:00")

    bad = client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"red_needs": 5}}, headers=cw)
    assert bad.status_code == 422 and "red_needs" in bad.get_json()["errors"]

    ok = client.post(f"/api/tasks/{task['id']}/complete",
                     json={"data": {"red_needs": ["child_at_risk"], "yellow_needs": [], "summary": "s"}}, headers=cw)
    assert ok.status_code == 200, ok.get_json()
    again = client.post(f"/api/tasks/{task['id']}/complete",
                        json={"data": {"red_needs": [], "yellow_needs": [], "summary": "s"}}, headers=cw)
    assert again.status_code == 409

    sup = token_for("supervisor1")
    [approval] = claimable(client, sup)
    assert approval["priority"] == "high" and approval["role"] == "supervisor"
    assert client.post(f"/api/tasks/{approval['id']}/claim", headers=cw).status_code == 403
    assert client.post(f"/api/tasks/{approval['id']}/claim", headers=sup).status_code == 200
    assert client.post(f"/api/tasks/{approval['id']}/claim", headers=token_for("director1")).status_code == 409
    mine = client.get("/api/tasks?scope=mine", headers=sup).get_json()["tasks"]
    assert [t["id"] for t in mine] == [approval["id"]]
    done = client.post(f"/api/tasks/{approval['id']}/complete",
                       json={"data": {"vote": "approve", "comment": ""}}, headers=sup)
    assert done.status_code == 200


def test_unknown_task_is_404_and_others_tasks_are_403(client, token_for):
    cw = token_for("caseworker1")
    assert client.get("/api/tasks/00000000-0000-0000-0000-000000000000", headers=cw).status_code == 404
    start_sample(client, cw)
    [task] = claimable(client, cw)
    outsider = token_for("committee1")
    assert client.get(f"/api/tasks/{task['id']}", headers=outsider).status_code == 403
    assert client.post(f"/api/tasks/{task['id']}/complete", json={"data": {}}, headers=outsider).status_code == 403


def test_bad_scope_is_422(client, token_for):
    resp = client.get("/api/tasks?scope=everything", headers=token_for("caseworker1"))
    assert resp.status_code == 422 and "scope" in resp.get_json()["errors"]


def test_team_scope_is_for_supervisors(client, token_for):
    assert client.get("/api/tasks?scope=team", headers=token_for("caseworker1")).status_code == 403
    assert client.get("/api/tasks?scope=team&overdue=true", headers=token_for("supervisor1")).status_code == 200


def test_openapi_document_lists_the_api(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/auth/token", "/api/tasks", "/api/tasks/{task_id}/complete", "/api/process-models"):
        assert path in doc["paths"], path


def test_process_models_listed_with_versions(client, token_for):
    models = client.get("/api/process-models", headers=token_for("processowner1")).get_json()["models"]
    sample = [m for m in models if m["process_id"] == "sample_intake"]
    assert sample and sample[0]["version"] == 1 and sample[0]["latest"]


def test_a_claim_and_a_completion_name_the_caller_as_holder_without_reading_anything_back(app, client, token_for):
    """Issue 16: through the API a claim and a completion each read twice — the sign-in (which
    brings the caller's name and language) and their one read of person, task and instance —
    and answer with the caller as the task's holder, read from neither the task nor the users
    again after their change."""
    from sqlalchemy import event
    cw = token_for("caseworker1")
    needs = {"red_needs": ["child_at_risk"], "yellow_needs": [], "summary": "seen"}
    start_sample(client, cw)
    [first] = claimable(client, cw)  # the first completion reads the form's schema once for every later one
    assert client.post(f"/api/tasks/{first['id']}/complete", json={"data": needs}, headers=cw).status_code == 200
    start_sample(client, cw)
    [task] = claimable(client, cw)
    selects: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    engine = app.extensions["engine_ctx"].engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        claimed = client.post(f"/api/tasks/{task['id']}/claim", headers=cw)
        claim_selects, selects[:] = list(selects), []
        completed = client.post(f"/api/tasks/{task['id']}/complete", json={"data": needs}, headers=cw)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "caseworker1"
    assert completed.status_code == 200 and completed.get_json()["assignee"] == "caseworker1"
    assert completed.get_json()["state"] == "completed"
    assert len(claim_selects) == 2, "\n".join(claim_selects)
    assert len(selects) == 2, "\n".join(selects)


def test_the_task_list_total_is_every_ready_task_whatever_the_window_and_a_short_list_is_not_counted_again(
        app, client, token_for):
    """``GET /api/tasks`` says how many tasks the scope holds, whichever slice it returns; a list
    read whole (shorter than its window's end) is its own count, so no count query runs for it."""
    from sqlalchemy import event
    cw = token_for("caseworker1")
    for _ in range(3):
        start_sample(client, cw)
    statements: list[str] = []
    engine = app.extensions["engine_ctx"].engine

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        whole = client.get("/api/tasks?scope=claimable", headers=cw).get_json()
        counted_whole = [s for s in statements if "count(" in s.lower()]
        windows = {(limit, offset): client.get(f"/api/tasks?scope=claimable&limit={limit}&offset={offset}",
                                               headers=cw).get_json()
                   for limit, offset in ((2, 0), (2, 2), (1, 1), (100, 5))}
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert (whole["total"], len(whole["tasks"])) == (3, 3)
    assert counted_whole == []
    assert {key: (page["total"], len(page["tasks"])) for key, page in windows.items()} == {
        (2, 0): (3, 2), (2, 2): (3, 1), (1, 1): (3, 1), (100, 5): (3, 0)}
    pages = [t["id"] for key in ((2, 0), (2, 2)) for t in windows[key]["tasks"]]
    assert pages == [t["id"] for t in whole["tasks"]]  # the windows are slices of one order
