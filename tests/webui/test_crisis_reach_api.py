"""The crisis API and pages of issue 17 (CONTRACT: preview, PATCH, drills): counts before
declaring, the scope widened with a note, a drill beside a real disruption, the banner on
every signed-in page, the disruption report in words."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.models import Case, User

DECLARATION = {"kind": "it_failure", "description": "Case management system down", "affected_functions": ["5.4"]}


def _add_cases(app) -> None:
    ctx = app.extensions["engine_ctx"]
    with ctx.uow() as uow:
        worker = uow.session.scalar(select(User.id).where(User.username == "caseworker1"))
        for code, stage, risk in (("C-1", "assessment", "high"), ("C-2", "implementation", "high"),
                                  ("C-3", "review", None)):
            uow.session.add(Case(code=code, status="O", stage=stage, risk_level=risk, caseworker_id=worker))
        uow.commit()


def test_preview_counts_by_risk_and_stage_for_the_crisis_team_only_R35(app, client, token_for):
    """R35: GET /api/crises/preview?functions=... counts, never names; others 403; bad 4xx."""
    _add_cases(app)
    lead = token_for("crisislead1")
    resp = client.get("/api/crises/preview?functions=5.4", headers=lead)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["affected"] == {"total": 2, "by_risk": {"high": 1, "medium": 0, "low": 0, "unrated": 1},
                                "by_stage": {"implementation": 1, "review": 1}}
    assert body["scope"][0]["stages_text"] == "Implementation, case review" and "C-2" not in resp.get_data(True)
    wide = client.get("/api/crises/preview?functions=5.1,5.4", headers=lead).get_json()
    assert wide["affected"]["total"] == 3
    assert client.get("/api/crises/preview?functions=5.4", headers=token_for("caseworker1")).status_code == 403
    assert client.get("/api/crises/preview?functions=5.9", headers=lead).status_code == 422
    assert client.get("/api/crises/preview", headers=lead).status_code == 422
    assert client.get("/api/crises/preview?functions=" + "5.1," * 200, headers=lead).status_code == 422


def test_patch_widens_an_active_disruption_and_a_drill_does_not_block_a_real_one(client, token_for):
    lead = token_for("crisislead1")
    drill = client.post("/api/crises", json={**DECLARATION, "drill": True}, headers=lead)
    assert drill.status_code == 201 and drill.get_json()["drill"] is True
    real = client.post("/api/crises", json=DECLARATION, headers=lead)
    assert real.status_code == 201, real.get_json()
    assert client.post("/api/crises", json={**DECLARATION, "drill": True}, headers=lead).status_code == 409
    assert client.post("/api/crises", json={**DECLARATION, "drill": "yes"}, headers=lead).status_code == 422
    crisis_id = real.get_json()["id"]
    wider = client.patch(f"/api/crises/{crisis_id}", json={"affected_functions": ["5.1", "5.4"], "note": "Intake"},
                         headers=lead)
    assert wider.status_code == 200, wider.get_json()
    assert wider.get_json()["affected_function_labels"] == ["5.1 Client Intake & Assessment",
                                                            "5.4 Monitoring & Follow-up"]
    assert client.patch(f"/api/crises/{crisis_id}", json={"affected_functions": ["5.7"]}, headers=lead
                        ).status_code == 422
    assert client.patch(f"/api/crises/{crisis_id}", json={"affected_functions": ["5.4"]},
                        headers=token_for("caseworker1")).status_code == 403
    assert client.patch("/api/crises/999999", json={"affected_functions": ["5.4"]}, headers=lead).status_code == 404
    log = client.get(f"/api/crises/{crisis_id}/log", headers=lead).get_json()["entries"]
    assert any(e["text"].startswith("Scope widened") and "Intake" in e["text"] for e in log)


def _signed_in(app, username: str):
    """A browser-like client signed in to the pages as ``username``."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": "demo", "csrf_token": token}
                       ).status_code == 302
    return client


def test_every_signed_in_page_names_the_disruption_in_words(app, client, token_for):
    """CONTRACT: while a disruption is active every signed-in page says so, in words."""
    lead = token_for("crisislead1")
    crisis_id = client.post("/api/crises", json=DECLARATION, headers=lead).get_json()["id"]
    page = _signed_in(app, "committee1").get("/").get_data(as_text=True)
    assert "Disruption in progress: IT failure" in page and "5.4 Monitoring &amp; Follow-up" in page
    assert "it_failure" not in page
    lead_pages = _signed_in(app, "crisislead1")
    report = lead_pages.get(f"/crisis/{crisis_id}/report")
    text = report.get_data(as_text=True)
    assert report.status_code == 200 and "Disruption report #" in text and "Time to reach cases" in text
    assert "it_failure" not in text and "process_instance" not in text
    board = lead_pages.get(f"/crisis/{crisis_id}").get_data(as_text=True)
    assert "Widen or narrow the scope" in board and "Staff unavailable" in board and "Informing clients" in board
    assert "seed 000" not in board
