"""People decide with the facts in view (issue 13, items 1–3), in Chromium: the supervisor
approves a plan seeing its goals; a plan sent back returns with its content and the reason;
a referral-outcome task names its provider; a review that lowers the risk changes every row
of the case; long texts have a counter and are refused, never cut; the client's words are
kept exactly; the risk form suggests a level as needs are ticked."""
from __future__ import annotations

import datetime as dt

from engine import clock
from tests.browser.conftest import shot, sign_in
from tests.workflows.case_driver import CaseDriver

GOALS = "Back to school by the next term; the child sleeps safely at her aunt's"
ACTIONS = "Caseworker enrols her (week 1); weekly home visits by the caseworker; school checks monthly"
REFERRALS = [{"provider": "Legal Aid Clinic", "service": "birth registration", "consent_to_share": True},
             {"provider": "Hope School", "service": "catch-up classes", "consent_to_share": True}]


def _driver(live_app) -> CaseDriver:
    """A driver on the live app's engine, its clock frozen at the real now (the app's worker
    keeps running: timers are due by the same clock)."""
    return CaseDriver(live_app.ctx, start=dt.datetime.now(dt.UTC).replace(microsecond=0))


def _to_plan(d: CaseDriver) -> str:
    """A case registered, rated high, assessed: its case plan task is open."""
    code = d.refer()
    d.to_registered(code)
    d.assess(code)
    return code


def _submitted_plan(d: CaseDriver) -> str:
    code = _to_plan(d)
    d.do(code, "case_plan", {"goals": GOALS, "actions": ACTIONS, "contingency_plan": "Kinship care with the aunt",
                             "agreed_with_client": True, "referrals": REFERRALS})
    return code


def _open_task(page, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    page.get_by_role("heading", name=title, level=1).wait_for()
    page.locator("#form-editor:not([data-loading])").wait_for()


def test_R17_a_supervisor_approves_a_case_plan_seeing_its_goals_actions_and_referrals(page, live_app):
    d = _driver(live_app)
    code = _submitted_plan(d)

    sign_in(page, "supervisor1")
    row = page.locator("table.tasks tbody tr").filter(has_text=code).filter(has_text="Approve the case plan")
    row.get_by_role("link", name="Approve the case plan").click()
    page.get_by_role("heading", name="Approve the case plan", level=1).wait_for()
    facts = page.locator("section.decides")
    assert "What you decide on" in facts.inner_text()
    assert GOALS in facts.inner_text() and ACTIONS in facts.inner_text()
    assert "Legal Aid Clinic — birth registration (consent to share given)" in facts.inner_text()
    assert "Kinship care with the aunt" in facts.inner_text()
    assert "Value required" not in page.content()  # nothing answered yet: no error on untouched fields
    shot(page, "decisions_supervisor_sees_the_plan_before_approving")

    page.get_by_label("Decision").select_option(label="Approve")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(f"Done: “Approve the case plan” for {code}.").wait_for()
    assert d.case(code).stage == "implementation"


def test_R17_a_plan_sent_back_returns_with_its_content_and_the_supervisors_reason(page, live_app):
    d = _driver(live_app)
    code = _submitted_plan(d)
    approval = d.task(code, "approve_case_plan")
    d.complete("supervisor1", approval, {"vote": "reject",
                                         "comment": "Say who visits weekly, and add the school's contact person"})

    sign_in(page, "caseworker1")
    title = d.task(code, "case_plan").title
    page.locator("table.tasks tbody tr").filter(has_text=code).get_by_role("link", name=title).click()
    page.locator("#form-editor:not([data-loading])").wait_for()
    sent_back = page.locator(".sent-back")
    assert "Sent back by supervisor1" in sent_back.inner_text()
    assert "Say who visits weekly, and add the school's contact person" in sent_back.inner_text()
    goals = page.get_by_label("Goals", exact=True)
    goals.wait_for()
    assert goals.input_value() == GOALS  # the form starts from the plan that was sent back
    assert page.get_by_label("Actions", exact=True).input_value() == ACTIONS
    assert page.locator("[data-schemapath='root.referrals.0.provider'] input").input_value() == "Legal Aid Clinic"
    consent = page.locator("[data-schemapath='root.referrals.0.consent_to_share'] select")
    assert consent.locator("option:checked").inner_text() == "— choose —"  # asked again, never pre-answered
    assert not page.get_by_label("Agreed with the client").is_checked()
    assert "of 4,000 characters" in page.locator("[data-schemapath='root.goals']").inner_text()
    assert "Value required" not in page.locator("#form-editor").inner_text()  # no error on filled-in fields
    shot(page, "decisions_plan_sent_back_with_its_content_and_reason")

    # submitted as it stands, the referrals' consent is missing: said on the field, in words
    page.get_by_label("Actions", exact=True).fill(ACTIONS + "; the caseworker visits every Tuesday")
    page.get_by_role("button", name="Submit").click()
    page.locator("#error-summary").wait_for()
    error = page.locator("[data-schemapath='root.referrals.0.consent_to_share'] .server-error")
    assert "consent to share information" in error.inner_text()
    assert "item 0" not in page.locator("#error-summary").inner_text()
    assert "Referral 1: Consent to share information" in page.locator("#error-summary").inner_text()
    shot(page, "decisions_plan_consent_missing_error_on_the_field")
    for index in (0, 1):
        page.locator(f"[data-schemapath='root.referrals.{index}.consent_to_share'] select").select_option(label="Yes")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(f"Done: “{title}” for {code}.").wait_for()
    assert d.task(code, "approve_case_plan").state == "ready"


def test_R18_a_referral_outcome_task_names_its_provider(page, live_app):
    d = _driver(live_app)
    code = _submitted_plan(d)
    d.do(code, "approve_case_plan", {"vote": "approve"})

    sign_in(page, "caseworker1")
    rows = page.locator("table.tasks tbody tr").filter(has_text=code)
    legal = "Record the outcome of the referral to Legal Aid Clinic (birth registration)"
    school = "Record the outcome of the referral to Hope School (catch-up classes)"
    assert rows.filter(has_text=legal).count() == 1 and rows.filter(has_text=school).count() == 1
    shot(page, "decisions_referral_rows_name_their_provider")

    _open_task(page, legal)
    facts = page.locator("section.decides").inner_text()
    assert "Legal Aid Clinic" in facts and "birth registration" in facts and "Hope School" not in facts
    shot(page, "decisions_referral_outcome_task")


def test_R20_a_review_that_lowers_the_risk_changes_every_row_of_that_case(page, live_app):
    d = _driver(live_app)
    code = _submitted_plan(d)
    d.do(code, "approve_case_plan", {"vote": "approve"})
    d.do(code, "follow_up", {"contact": "made", "contact_method": "home_visit", "risk_concern": True})
    review = d.task(code, "review_case")  # a worrying follow-up: an early review opens at once
    assert review.title == "Case review: early review, the situation worsened"

    sign_in(page, "caseworker1")
    risks = page.locator("table.tasks tbody tr").filter(has_text=code).locator(".risk")
    assert risks.count() >= 2 and set(risks.all_inner_texts()) == {"high"}
    shot(page, "decisions_rows_before_the_review")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "supervisor1")
    _open_task(page, review.title)
    assert "The plan in force" in page.locator("section.decides").inner_text()
    page.get_by_label("Outcome").select_option(label="Continue the plan")
    page.get_by_label("New risk level").select_option(label="Medium")
    page.get_by_label("Reason for the new level").fill("She attends school and lives safely with her aunt")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(f"Done: “{review.title}” for {code}.").wait_for()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "caseworker1")
    rows = page.locator("table.tasks tbody tr").filter(has_text=code)
    assert rows.count() >= 2
    assert set(rows.locator(".risk").all_inner_texts()) == {"medium"}  # every row of the case, none left at high
    shot(page, "decisions_rows_after_the_review_lowered_the_risk")
    rows.first.locator("a").nth(1).click()
    page.locator("h1").wait_for()
    assert page.locator("p.meta .risk").inner_text() == "medium"
    assert page.locator(".task-side .risk").first.inner_text() == "medium"


def test_long_text_is_counted_and_refused_never_cut_and_the_clients_words_are_kept_exactly(page, live_app):
    d = _driver(live_app)
    code = _submitted_plan(d)
    d.do(code, "approve_case_plan", {"vote": "approve"})
    note = ("The family met at home. " * 265)[:6360]
    words = "<she said: I want to stay with my aunt & go to school> \"no more market\""

    sign_in(page, "caseworker1")
    _open_task(page, "Follow-up contact")
    page.get_by_label("Contact", exact=True).select_option(label="Contact made")
    case_note = page.get_by_label("Case note")
    case_note.fill(note)
    counter = page.locator("[data-schemapath='root.follow_up_notes'] .char-count")
    assert counter.inner_text() == "6,360 of 4,000 characters: 2,360 too many"
    page.get_by_label("Client's words").fill(words)
    page.get_by_role("button", name="Submit").click()
    page.locator("#error-summary").wait_for()
    error = page.locator("[data-schemapath='root.follow_up_notes'] .server-error")
    assert error.inner_text() == "Keep this to 4,000 characters at most: it has 6,360."
    assert len(page.get_by_label("Case note").input_value()) == 6360  # nothing was cut
    assert page.get_by_label("Client's words").input_value() == words
    shot(page, "decisions_long_note_refused_with_a_counter")

    page.get_by_label("Case note").fill(note[:3900])
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(f"Done: “Follow-up contact” for {code}.").wait_for()
    page.goto(f"/cases/{code}")
    assert words in page.locator("main").inner_text()  # shown exactly as said, escaped, not stripped


def test_R08_the_risk_form_suggests_a_level_as_needs_are_ticked_R09(page, live_app):
    d = _driver(live_app)
    code = d.refer()
    d.to_registered(code)

    sign_in(page, "caseworker1")
    _open_task(page, d.task(code, "initial_assessment").title)
    suggestion = page.locator("#risk-suggestion")
    suggestion.get_by_text("Suggested risk level: Low").wait_for()
    yellow = page.locator("[data-schemapath='root.yellow_needs']")
    for need in ("Separated child", "Child labour", "Survivor of violence"):
        yellow.get_by_label(need).check()
    suggestion.get_by_text("Exactly three yellow needs").wait_for()
    assert "Medium" in suggestion.inner_text()
    page.locator("[data-schemapath='root.red_needs']").get_by_label("Child at risk").check()
    suggestion.get_by_text("Suggested risk level: High").wait_for()
    shot(page, "decisions_risk_form_suggests_the_level")
    clock.freeze(None)
