"""Version history (issue 14): a version's page and the API say what changed from the
version before — per file, per element, the property and its old and new value."""
from __future__ import annotations

from tests.conftest import WORKFLOWS
from tests.webui.test_pages_support import sign_in

SAMPLE = (WORKFLOWS / "bpmn" / "sample_intake.bpmn").read_text()
NEW_DUE = SAMPLE.replace('name="due" value="PT24H"', 'name="due" value="PT36H"')


def sample_model_ids(client, headers) -> dict[int, int]:
    models = client.get("/api/process-models", headers=headers).get_json()["models"]
    return {m["version"]: m["id"] for m in models if m["process_id"] == "sample_intake"}


def deploy_new_due(client, owner) -> dict[int, int]:
    client.put("/api/process-models/drafts/sample_intake.bpmn", json={"content": NEW_DUE}, headers=owner)
    assert client.post("/api/process-models/drafts/deploy", json={}, headers=owner).status_code == 201
    return sample_model_ids(client, owner)


def test_the_api_says_which_element_changed_and_how(client, token_for):
    owner = token_for("processowner1")
    ids = deploy_new_due(client, owner)
    resp = client.get(f"/api/process-models/{ids[2]}/compare/{ids[1]}", headers=token_for("director1"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["older"], body["newer"]) == (1, 2)
    changed = [f for f in body["files"] if f["change"] != "unchanged"]
    assert [f["filename"] for f in changed] == ["sample_intake.bpmn"]
    assert changed[0]["elements"] == [{"element_id": "record_needs", "kind": "user task",
                                       "name": "Record specific needs", "change": "changed",
                                       "details": ["due: PT24H → PT36H"]}]


def test_comparing_unknown_versions_or_two_processes_is_refused_in_json(client, token_for):
    owner = token_for("processowner1")
    ids = deploy_new_due(client, owner)
    models = client.get("/api/process-models", headers=owner).get_json()["models"]
    other = next(m["id"] for m in models if m["process_id"] != "sample_intake")
    for path, status in ((f"{ids[1]}/compare/999999", 404), (f"{ids[1]}/compare/{other}", 422),
                         (f"{ids[1]}/compare/-1", 404), (f"{ids[1]}/compare/99999999999", 404)):
        resp = client.get(f"/api/process-models/{path}", headers=owner)
        assert resp.status_code == status and resp.is_json, (path, resp.status_code)
    assert client.get(f"/api/process-models/{ids[1]}/compare/{ids[2]}").status_code == 401


def test_a_versions_page_shows_the_changes_from_the_version_before(app, client, token_for):
    ids = deploy_new_due(client, token_for("processowner1"))
    browser = sign_in(app, "processowner1")
    page = browser.get(f"/models/{ids[2]}").get_data(as_text=True)
    assert "Changes from version 1 to version 2" in page
    assert "Record specific needs" in page and "due: PT24H → PT36H" in page
    # the first version compares with the newer one when asked
    older = browser.get(f"/models/{ids[1]}?compare=2").get_data(as_text=True)
    assert "Changes from this version to version 2" in older and "due: PT24H → PT36H" in older
    # a version number that does not exist falls back to no comparison for the first version
    assert "Changes from" not in browser.get(f"/models/{ids[1]}?compare=x").get_data(as_text=True)
