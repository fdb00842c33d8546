"""What the pages show beside a decision (issue 13, item 1): the committee's agenda shows the
closure a member votes on, and ``GET /api/tasks/<id>`` gives the same facts as ``subject``."""
from __future__ import annotations

import pytest

from tests.webui.test_pages_support import sign_in
from tests.workflows.case_driver import CLIENT, open_case

SUMMARY = "The family moved on; the child is at school"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_R22_committee_members_vote_on_a_closure_seeing_its_reason_and_summary(app, client, token_for):
    d, code = open_case(app.extensions["engine_ctx"])
    d.do(code, "request_closure", {"closure_reason": "goals_met", "closure_summary": SUMMARY})
    d.do(code, "closure_review", {"vote": "approve", "comment": "Safe to close"})

    agenda = sign_in(app, "committee1").get("/committee")
    assert agenda.status_code == 200
    html = agenda.get_data(as_text=True)
    assert "What you decide on" in html and SUMMARY in html
    assert "Goals met and the child is safe" in html  # the reason in words
    assert "goals_met" not in html

    (vote,) = [t for t in d.tasks(code, "cast_vote") if d.assignee(t) == "committee1"]
    subject = client.get(f"/api/tasks/{vote.id}", headers=token_for("committee1")).get_json()["subject"]
    assert subject["kind"] == "conference"
    facts = {f["label"]: f for section in subject["sections"] for f in section["facts"]}
    assert facts["Summary"]["text"] == SUMMARY and facts["Supervisor's review"]["text"].startswith("Approve")
    assert CLIENT["name"] not in str(subject) and CLIENT["name"] not in html  # R32: codes, never the name
