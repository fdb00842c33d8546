"""Process owners' drafts through the API (issue 14): kept per owner, validated and
path-tested before anything is deployed, deployed only when asked, and then gone."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

from engine import clock
from tests.conftest import WORKFLOWS
from tests.webui.test_pages_support import csrf_from, sign_in

SAMPLE = (WORKFLOWS / "bpmn" / "sample_intake.bpmn").read_text()
NEW_DUE = SAMPLE.replace('name="due" value="PT24H"', 'name="due" value="PT36H"')
DRAFTS = "/api/process-models/drafts"


def save(client, headers, filename: str, content: str):
    return client.put(f"{DRAFTS}/{filename}", json={"content": content}, headers=headers)


def sample_versions(client, headers) -> list[int]:
    models = client.get("/api/process-models", headers=headers).get_json()["models"]
    return sorted(m["version"] for m in models if m["process_id"] == "sample_intake")


def test_a_draft_is_kept_for_its_owner_alone_and_deploys_nothing_until_asked(client, token_for):
    owner = token_for("processowner1")
    saved = save(client, owner, "sample_intake.bpmn", NEW_DUE)
    assert saved.status_code == 200 and saved.get_json()["kind"] == "bpmn"
    assert client.get(f"{DRAFTS}/sample_intake.bpmn", headers=owner).get_json()["content"] == NEW_DUE
    assert [d["filename"] for d in client.get(DRAFTS, headers=owner).get_json()["drafts"]] == ["sample_intake.bpmn"]
    assert sample_versions(client, owner) == [1]
    # another process owner has no such draft; a caseworker keeps none at all
    assert client.get(f"{DRAFTS}/sample_intake.bpmn", headers=token_for("admin")).status_code == 404
    assert client.get(DRAFTS, headers=token_for("admin")).get_json()["drafts"] == []
    assert save(client, token_for("caseworker1"), "sample_intake.bpmn", NEW_DUE).status_code == 403


def test_deploying_drafts_makes_a_new_version_new_instances_start_on_and_discards_the_drafts(client, token_for):
    owner = token_for("processowner1")
    save(client, owner, "sample_intake.bpmn", NEW_DUE)
    save(client, owner, "tests/sample_intake.json", "[]")
    deployed = client.post(f"{DRAFTS}/deploy", json={}, headers=owner)
    assert deployed.status_code == 201, deployed.get_json()
    assert {(r["process_id"], r["version"]) for r in deployed.get_json()["deployed"] if r["created"]} == {
        ("sample_intake", 2)}
    # the path test draft stays: it is the owner's, not part of the deployed bundle
    assert [d["filename"] for d in client.get(DRAFTS, headers=owner).get_json()["drafts"]] == [
        "tests/sample_intake.json"]
    caseworker = token_for("caseworker1")
    started = client.post("/api/processes/sample_intake/instances", json={"data": {}}, headers=caseworker).get_json()
    task = next(t for t in client.get("/api/tasks?scope=claimable", headers=caseworker).get_json()["tasks"]
                if t["instance_id"] == started["id"])
    due_in = dt.datetime.fromisoformat(task["due_at"]) - clock.now()
    assert dt.timedelta(hours=35, minutes=55) < due_in <= dt.timedelta(hours=36)


def test_a_broken_draft_is_refused_at_deploy_naming_the_element_and_is_kept(client, token_for):
    owner = token_for("processowner1")
    broken = SAMPLE.replace('name="due" value="PT24H"', 'name="due" value="P99999Y"')
    save(client, owner, "sample_intake.bpmn", broken)
    refused = client.post(f"{DRAFTS}/deploy", json={"filenames": ["sample_intake.bpmn"]}, headers=owner)
    assert refused.status_code == 422
    assert "record_needs" in json.dumps(refused.get_json())
    assert client.get(f"{DRAFTS}/sample_intake.bpmn", headers=owner).status_code == 200
    assert sample_versions(client, owner) == [1]
    # the editor validates a draft the same way as it is edited: the same element named
    checked = client.post("/api/process-models/validate", headers=owner, content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(broken.encode()), "sample_intake.bpmn")]}).get_json()
    assert [p["element_id"] for p in checked["problems"]] == ["record_needs"]


def test_a_path_test_runs_on_the_draft_before_it_is_deployed(client, token_for):
    owner = token_for("processowner1")
    scenario = json.dumps([{"name": "needs are due in 36 hours", "process": "sample_intake",
                            "steps": [{"expect": {"tasks": ["record_needs"], "due": {"record_needs": "PT36H"}}}]}])

    def run(files: dict[str, str]):
        data = {"files": [(io.BytesIO(t.encode()), n) for n, t in files.items()],
                "scenarios": [(io.BytesIO(scenario.encode()), "sample_intake.json")]}
        return client.post("/api/process-models/scenarios", headers=owner, content_type="multipart/form-data",
                           data=data).get_json()

    assert run({})["passed"] is False  # the deployed diagram still gives 24 hours
    assert run({"sample_intake.bpmn": NEW_DUE})["passed"] is True


def test_a_discarded_draft_is_gone_and_nothing_left_to_deploy_is_said_so(client, token_for):
    owner = token_for("processowner1")
    save(client, owner, "sample_intake.bpmn", NEW_DUE)
    assert client.delete(f"{DRAFTS}/sample_intake.bpmn", headers=owner).status_code == 204
    assert client.get(f"{DRAFTS}/sample_intake.bpmn", headers=owner).status_code == 404
    assert client.delete(f"{DRAFTS}/sample_intake.bpmn", headers=owner).status_code == 404
    nothing = client.post(f"{DRAFTS}/deploy", json={}, headers=owner)
    assert nothing.status_code == 422 and "no drafts" in nothing.get_json()["message"]


def test_draft_names_and_sizes_are_bounded(client, token_for):
    owner = token_for("processowner1")
    for name in ("../secrets.bpmn", "notes.txt", "tests/x.bpmn", "a" * 200 + ".bpmn"):
        assert save(client, owner, name, "x").status_code == 422, name
    assert save(client, owner, "big.bpmn", "x" * (300 * 1024)).status_code == 413


def test_a_draft_over_a_file_deployed_again_since_is_refused_with_409_unless_overwritten(client, token_for):
    owner, other = token_for("processowner1"), token_for("admin")
    save(client, owner, "sample_intake.bpmn", NEW_DUE)  # started from version 1
    quicker = SAMPLE.replace('name="due" value="PT24H"', 'name="due" value="PT12H"')
    save(client, other, "sample_intake.bpmn", quicker)
    assert client.post(f"{DRAFTS}/deploy", json={}, headers=other).status_code == 201
    assert sample_versions(client, owner) == [1, 2]
    # deploying the older draft would undo version 2 unseen: refused, the draft kept
    stale = client.post(f"{DRAFTS}/deploy", json={}, headers=owner)
    assert stale.status_code == 409, stale.get_json()
    assert "sample_intake.bpmn was deployed again" in stale.get_json()["message"]
    assert sample_versions(client, owner) == [1, 2]
    assert client.get(f"{DRAFTS}/sample_intake.bpmn", headers=owner).status_code == 200
    # on purpose, it deploys
    forced = client.post(f"{DRAFTS}/deploy", json={"overwrite": True}, headers=owner)
    assert forced.status_code == 201 and sample_versions(client, owner) == [1, 2, 3]


def test_the_editor_page_saves_drafts_with_the_pages_csrf_token_and_the_base_it_opened(app, client, token_for):
    browser = sign_in(app, "processowner1")
    opened = browser.get("/models/edit/sample_intake.bpmn")
    assert opened.status_code == 200
    page = opened.get_data(as_text=True)
    base = hashlib.sha256(SAMPLE.encode()).hexdigest()
    assert base in page  # the editor page carries the base it opened
    body = {"content": NEW_DUE, "base_hash": base}
    # a session call without the page's CSRF token is refused; with it, the draft is kept
    assert browser.put(f"{DRAFTS}/sample_intake.bpmn", json=body).status_code == 400
    resp = browser.put(f"{DRAFTS}/sample_intake.bpmn", json=body, headers={"X-CSRFToken": csrf_from(page)})
    assert resp.status_code == 200, resp.get_json()
    owner = token_for("processowner1")
    # caseworkers do not get the editor
    assert sign_in(app, "caseworker1").get("/models/edit/sample_intake.bpmn").status_code == 403
    assert client.post(f"{DRAFTS}/deploy", json={}, headers=owner).status_code == 201
    # a base the deployed file never had: the deploy is refused as stale
    client.put(f"{DRAFTS}/sample_intake.bpmn", json={"content": SAMPLE, "base_hash": "0" * 64}, headers=owner)
    assert client.post(f"{DRAFTS}/deploy", json={}, headers=owner).status_code == 409


def test_bad_draft_requests_are_refused_in_json_never_with_a_500(client, token_for):
    owner = token_for("processowner1")
    cases = [
        (client.put(f"{DRAFTS}/sample_intake.bpmn", data="{not json", content_type="application/json",
                    headers=owner), 400),
        (client.put(f"{DRAFTS}/sample_intake.bpmn", json={}, headers=owner), 422),
        (client.put(f"{DRAFTS}/sample_intake.bpmn", json={"content": 5}, headers=owner), 422),
        (client.put(f"{DRAFTS}/sample_intake.bpmn", json={"content": SAMPLE, "base_hash": "abc"}, headers=owner), 422),
        (client.get(f"{DRAFTS}/nothing.dmn", headers=owner), 404),
        (client.post(f"{DRAFTS}/deploy", json={"filenames": ["nothing.dmn"]}, headers=owner), 404),
        (client.post(f"{DRAFTS}/deploy", json={"filenames": []}, headers=owner), 422),
        (client.post(f"{DRAFTS}/deploy", json={"overwrite": "perhaps"}, headers=owner), 422),
        (client.get(DRAFTS), 401),
    ]
    for resp, status in cases:
        assert resp.status_code == status, (status, resp.get_json())
        assert resp.is_json and resp.get_json().get("message")


def test_a_draft_has_bounded_size_and_element_count(client, token_for):
    owner = token_for("processowner1")
    too_big = save(client, owner, "big.bpmn", "x" * (245 * 1024))
    assert too_big.status_code == 422 and "a draft holds at most 240 KiB" in json.dumps(too_big.get_json())
    too_many = save(client, owner, "many.bpmn", "<a/>" * 20_001)
    assert too_many.status_code == 422 and "20,000 XML elements" in too_many.get_json()["message"]
    assert client.get(DRAFTS, headers=owner).get_json()["drafts"] == []


def test_without_the_built_modeler_the_editor_page_says_how_to_build_it(app, monkeypatch, tmp_path):
    from webui.pages import assets
    monkeypatch.setattr(assets, "BUNDLE_DIR", tmp_path)  # make install has not run esbuild
    page = sign_in(app, "processowner1").get("/models/edit/sample_intake.bpmn")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "The diagram editor is not built on this server" in text and "make install" in text
    assert "bpmn-modeler.js" not in text
    # the decision-table and form editors need no bundle
    assert "dmn-modeler.production.min.js" in sign_in(app, "processowner1").get(
        "/models/edit/risk_timeframes.dmn").get_data(as_text=True)
