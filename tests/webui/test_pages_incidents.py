"""The incidents page for process owners and admins (/models/incidents): the steps a
diagram failed, open ones first and resolved ones apart, each with its process version,
its element (name and id), what went wrong in words, when, and its instance's page."""
from __future__ import annotations

from tests.webui.test_pages_support import sign_in
from tests.webui.test_process_models_api import SCRIPT_FAILS_AT_RUN_TIME, upload


def _failed_step(client, token_for) -> dict:
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    assert upload(client, owner, {"divide.bpmn": SCRIPT_FAILS_AT_RUN_TIME}).status_code == 201
    instance = client.post("/api/processes/divide_process/instances", json={}, headers=cw).get_json()
    [task] = [t for t in client.get("/api/tasks?scope=claimable", headers=cw).get_json()["tasks"]
              if t["instance_id"] == instance["id"]]
    assert client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"contact_made": True}},
                       headers=cw).status_code == 422
    return instance


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"')[1].split("</section>")[0]


def test_a_failed_step_is_an_open_incident_with_its_element_and_words(app, client, token_for):
    instance = _failed_step(client, token_for)
    for who in ("processowner1", "admin"):
        page = sign_in(app, who)
        resp = page.get("/models/incidents")
        assert resp.status_code == 200
        shown = _section(resp.get_data(as_text=True), "open")
        assert "Divide (divide): it divides by zero" in shown
        assert 'class="element-id">divide<' in shown and "Divide<br>" in shown
        assert "version 1" in shown and "divide_process" in shown
        assert f'href="/models/instances/{instance["id"]}"' in shown
        assert "<time" in shown
    assert 'href="/models/incidents"' in sign_in(app, "processowner1").get("/models").get_data(as_text=True)


def test_a_resolved_incident_is_listed_apart(app, client, token_for):
    _failed_step(client, token_for)
    admin = token_for("admin")
    [incident] = [i for i in client.get("/api/incidents", headers=admin).get_json()["incidents"]
                  if i["actor"] == "diagram_failure"]
    assert client.post(f"/api/incidents/{incident['id']}/resolve", headers=admin).status_code == 200
    html = sign_in(app, "processowner1").get("/models/incidents").get_data(as_text=True)
    assert "it divides by zero" not in _section(html, "open") and "No open incident." in _section(html, "open")
    assert "it divides by zero" in _section(html, "resolved") and "resolved <time" in _section(html, "resolved")


def test_only_process_owners_and_admins_see_incidents(app, client, token_for):
    _failed_step(client, token_for)
    for who in ("caseworker1", "director1", "supervisor1"):
        resp = sign_in(app, who).get("/models/incidents")
        assert resp.status_code == 403 and "divides by zero" not in resp.get_data(as_text=True)
    assert app.test_client().get("/models/incidents").status_code in (302, 401)


def test_the_incidents_page_reads_in_arabic(app, client, token_for):
    _failed_step(client, token_for)
    page = sign_in(app, "processowner1")
    html = page.get("/models/incidents", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert 'dir="rtl"' in html and "الحوادث" in html
    for english in ("Incidents", "What went wrong", "First failed", "No incident is resolved yet."):
        assert english not in html
    assert 'class="element-id">divide<' in html
