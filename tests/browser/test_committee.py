"""A committee member votes in a new case's admission conference (R03)."""
from __future__ import annotations

from tests.browser.conftest import shot, sign_in

REFERRAL = {"referral": {"source": "community_member", "primary_concern": "Child left alone for days"},
            "client": {"name": "Ottoline Vraskenbury"}}


def _vote_task(api, case_code: str) -> dict:
    return next(t for t in api.get("/api/tasks?scope=mine").get_json()["tasks"] if t["case_code"] == case_code)


def test_committee_member_votes_and_then_sees_the_others_votes_R03(page, live_app):
    supervisor, caseworker, other_member = (live_app.api(u) for u in ("supervisor1", "caseworker1", "committee2"))
    code = supervisor.post("/api/cases", json=REFERRAL).get_json()["case_code"]
    screening = next(t for t in caseworker.get("/api/tasks?scope=claimable").get_json()["tasks"]
                     if t["case_code"] == code)
    assert caseworker.post(f"/api/tasks/{screening['id']}/complete",
                           json={"data": {"eligible": True, "immediate_danger": False}}).status_code == 200
    first = _vote_task(other_member, code)
    assert other_member.post(f"/api/tasks/{first['id']}/complete",
                             json={"data": {"vote": "approve", "comment": "Community placement looks safe"}}
                             ).status_code == 200

    sign_in(page, "committee1")
    committee = page.get_by_role("link", name="Committee")
    assert committee.locator(".count").inner_text() == "1"
    committee.click()
    item = page.locator("article.vote-item").filter(has_text=code)
    item.wait_for()
    assert "1 of 4 members voted" in item.inner_text()
    assert "committee2" not in page.content()  # nobody's vote before one's own
    assert "Ottoline" not in page.content()  # the committee decides on codes (R32)
    shot(page, "committee_before_voting")

    item.get_by_label("Approve").check()
    item.get_by_label("Comment").fill("Agree: admit, weekly follow-up")
    item.get_by_role("button", name="Record my vote").click()
    page.get_by_text(f"Your vote (approve) on {code} is recorded.").wait_for()
    decided = page.locator("article.conference").filter(has_text=code)
    assert "2 of 4 members voted" in decided.inner_text()
    assert "quorum 2 (50%) reached" in decided.inner_text()
    votes = decided.locator("ul.votes").inner_text()
    assert "committee2: approve — “Community placement looks safe”" in votes
    assert "You: approve — “Agree: admit, weekly follow-up”" in votes
    assert page.locator(f"article.vote-item:has-text('{code}')").count() == 0
    shot(page, "committee_after_voting")


def test_a_vote_without_a_choice_is_refused_on_the_page(page, live_app):
    supervisor, caseworker = live_app.api("supervisor1"), live_app.api("caseworker1")
    code = supervisor.post("/api/cases", json=REFERRAL).get_json()["case_code"]
    screening = next(t for t in caseworker.get("/api/tasks?scope=claimable").get_json()["tasks"]
                     if t["case_code"] == code)
    caseworker.post(f"/api/tasks/{screening['id']}/complete",
                    json={"data": {"eligible": True, "immediate_danger": False}})

    sign_in(page, "committee2")
    page.goto("/committee")
    item = page.locator("article.vote-item").filter(has_text=code)
    item.get_by_label("Approve").evaluate("el => el.form.noValidate = true")  # skip the browser's own check
    item.get_by_role("button", name="Record my vote").click()
    page.locator("#error-summary").get_by_text("Choose Approve or Reject.").wait_for()
    assert page.locator("article.vote-item").filter(has_text=code).count() == 1
