"""The committee page (R03) and the process owners' page."""
from __future__ import annotations

import io
import re

from tests.webui.test_pages_support import page_token, refer, sign_in, task_of
from tests.workflows.case_driver import CaseDriver


def _before_committee(client, token_for) -> str:
    code = refer(client, token_for)
    screening = task_of(client, token_for("caseworker1"), code)
    client.post(f"/api/tasks/{screening['id']}/complete", headers=token_for("caseworker1"),
                json={"data": {"eligible": True, "immediate_danger": False}})
    return code


def test_R03_votes_of_others_stay_hidden_until_ones_own_is_recorded(app, client, token_for):
    code = _before_committee(client, token_for)
    other = task_of(client, token_for("committee2"), code, scope="mine")
    client.post(f"/api/tasks/{other['id']}/complete", headers=token_for("committee2"),
                json={"data": {"vote": "reject", "comment": "needs more information"}})
    member = sign_in(app, "committee1")
    before = member.get("/committee").get_data(as_text=True)
    assert "1 of 4 members voted" in before and "needs more information" not in before
    mine = task_of(client, token_for("committee1"), code, scope="mine")
    resp = member.post(f"/committee/{mine['id']}/vote", follow_redirects=True,
                       data={"csrf_token": page_token(member, "/committee"), "vote": "approve", "comment": "admit"})
    after = resp.get_data(as_text=True)
    assert "needs more information" in after and "committee2</strong>: reject" in after
    assert "You</strong>: approve" in after


def test_R03_the_outcome_shows_once_every_member_has_voted(app, client, token_for):
    code = _before_committee(client, token_for)
    driver = CaseDriver(app.extensions["engine_ctx"])
    driver.vote_all(code, "approve")
    html = sign_in(app, "committee1").get("/committee").get_data(as_text=True)
    conference = html.split('id="decided"')[1]
    assert code in conference and "approved" in conference and "4 of 4 members voted" in conference


def test_only_committee_members_have_the_committee_page(app):
    assert sign_in(app, "caseworker1").get("/committee").status_code == 403


def test_models_page_lists_versions_with_running_instances(app, client, token_for):
    client.post("/api/processes/sample_intake/instances", headers=token_for("caseworker1"), json={})
    html = sign_in(app, "processowner1").get("/models").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td><a href=\"/models/(\d+)\">Sample intake.*?</tr>", html, re.S)
    assert row and "<strong>1</strong>" in row.group(0)
    version = sign_in(app, "processowner1").get(f"/models/{row.group(1)}").get_data(as_text=True)
    assert 'data-kind="bpmn"' in version and 'data-kind="dmn"' in version
    assert "1</strong> running instance on this version" in version


def test_a_broken_upload_names_file_element_and_line_and_deploys_nothing(app, client, token_for):
    owner = sign_in(app, "processowner1")
    before = client.get("/api/process-models", headers=token_for("processowner1")).get_json()["models"]
    broken = (b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
              b'id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true">'
              b'<bpmn:startEvent id="s"/><bpmn:scriptTask id="bad"><bpmn:script>import os</bpmn:script>'
              b'</bpmn:scriptTask></bpmn:process></bpmn:definitions>')
    resp = owner.post("/models", content_type="multipart/form-data",
                      data={"csrf_token": page_token(owner, "/models"), "files": (io.BytesIO(broken), "p.bpmn")})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "The upload was refused" in html and "<td>p.bpmn</td>" in html and 'class="element-id">bad<' in html
    after = client.get("/api/process-models", headers=token_for("processowner1")).get_json()["models"]
    assert len(after) == len(before)
    wrong_kind = owner.post("/models", content_type="multipart/form-data",
                            data={"csrf_token": page_token(owner, "/models"), "files": (io.BytesIO(b"x"), "notes.txt")})
    assert wrong_kind.status_code == 400 and "not a .bpmn, .dmn or .json file" in wrong_kind.get_data(as_text=True)


def test_only_process_owners_upload(app):
    director = sign_in(app, "director1")
    assert director.get("/models").status_code == 200  # may look
    resp = director.post("/models", data={"csrf_token": page_token(director, "/models")})
    assert resp.status_code == 403
