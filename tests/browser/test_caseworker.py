"""A caseworker works a new case's first task from the inbox: the form is rendered from
its JSON Schema, the server's field errors show after an invalid submit, a valid one goes
through."""
from __future__ import annotations

from tests.browser.conftest import shot, sign_in

REFERRAL = {"referral": {"source": "ngo", "primary_concern": "Out of school, working at the market"},
            "client": {"name": "Wenonah Bracklethorpe", "date_of_birth": "2013-05-04"}}


def _refer(api) -> str:
    resp = api.post("/api/cases", json=REFERRAL)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["case_code"]


def _screen(api, case_code: str, **answers) -> None:
    task = next(t for t in api.get("/api/tasks?scope=claimable").get_json()["tasks"] if t["case_code"] == case_code)
    resp = api.post(f"/api/tasks/{task['id']}/complete", json={"data": answers})
    assert resp.status_code == 200, resp.get_json()


def test_caseworker_sees_the_new_case_first_fixes_a_field_error_and_submits(page, live_app):
    supervisor, caseworker = live_app.api("supervisor1"), live_app.api("caseworker1")
    older = _refer(supervisor)
    _screen(caseworker, older, eligible=False, immediate_danger=False)  # R01: inform and refer, due in days
    new = _refer(supervisor)  # screening due within hours: the most urgent thing now

    sign_in(page, "caseworker1")
    rows = page.locator("table.tasks tbody tr")
    assert rows.count() >= 2
    first = rows.first
    assert first.locator("td.case-code").inner_text() == new
    assert "Screen the referral" in first.inner_text()
    assert older in rows.nth(1).inner_text()
    assert "Wenonah" not in page.content()  # lists show codes, never names (R32)
    shot(page, "caseworker_inbox_new_case_on_top")

    first.get_by_role("link", name="Screen the referral").click()
    page.get_by_role("heading", name="Screen the referral", level=1).wait_for()
    eligible = page.get_by_label("Eligible for case management")
    danger = page.get_by_label("In immediate danger")
    eligible.wait_for()
    header = page.get_by_label("Filled in by the system")  # R33
    assert header.locator("dd[data-field='Case code']").inner_text() == new
    assert "Case " + new in page.locator(".task-side").inner_text()

    # nothing answered: the server refuses and says which fields
    page.get_by_role("button", name="Submit").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "Eligible for case management: Say whether the person is eligible for case management." \
        in summary.inner_text()
    assert "In immediate danger: Say whether the person is in immediate danger." in summary.inner_text()
    field_error = page.locator("[data-schemapath='root.eligible'] .server-error")
    assert field_error.inner_text() == "Say whether the person is eligible for case management."
    assert eligible.get_attribute("aria-invalid") == "true"
    shot(page, "caseworker_form_field_error")

    notes = page.get_by_label("Screening notes")
    assert notes.is_visible()  # every question is still there after the round trip
    eligible.select_option(label="Yes")
    danger.select_option(label="No")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(f"Done: “Screen the referral” for {new}.").wait_for()
    assert page.locator(f"table.tasks td.case-code:text-is('{new}')").count() == 0
    shot(page, "caseworker_form_submitted")
    case = supervisor.get(f"/api/cases/{new}").get_json()
    assert case["stage"] == "admission"  # eligible, no danger: on to the admission conference (R03)
