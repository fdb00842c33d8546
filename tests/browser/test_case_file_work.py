"""The case file as a working file, in Chromium (issue 13): a caseworker adds a contact, a note
and a strictly confidential entry from the file, and an administrator reading the file sees the
note but never the confidential entry; a likely duplicate referral is flagged on the form; a
committee member opens the file while the conference is open, and no longer once it has decided (R32)."""
from __future__ import annotations

from tests.browser.conftest import shot, sign_in

CHILD = {"name": "Perpetua Oakenshield-Wray", "date_of_birth": "2014-07-09"}
REFERRAL = {"referral": {"source": "ngo", "primary_concern": "Out of school, working at the market"},
            "client": CHILD}
MEMBERS = ("committee1", "committee2", "director1", "supervisor1")


def _refer(api) -> str:
    resp = api.post("/api/cases", json=REFERRAL)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["case_code"]


def _do(api, case_code: str, scope: str, data: dict) -> None:
    task = next(t for t in api.get(f"/api/tasks?scope={scope}").get_json()["tasks"] if t["case_code"] == case_code)
    resp = api.post(f"/api/tasks/{task['id']}/complete", json={"data": data})
    assert resp.status_code == 200, resp.get_json()


def _before_the_committee(live_app) -> str:
    code = _refer(live_app.api("supervisor1"))
    _do(live_app.api("caseworker1"), code, "claimable", {"eligible": True, "immediate_danger": False})
    return code


def test_a_caseworker_adds_a_contact_from_the_case_file(page, live_app):
    code = _before_the_committee(live_app)
    for member in MEMBERS:
        _do(live_app.api(member), code, "mine", {"vote": "approve", "comment": "admit"})
    _do(live_app.api("caseworker1"), code, "mine", {"consent": "given", "consent_by": "client_and_caregiver",
                                                    "child_assent": "given"})
    sign_in(page, "caseworker1")
    page.goto(f"/cases/{code}")
    page.get_by_text("Add a contact or note", exact=True).last.click()
    form = page.locator("form.note-form")
    form.get_by_role("radio", name="Direct (with the child or family)").check()
    form.get_by_label("How").select_option(label="Home visit")
    text = form.get_by_label("What happened, or the note")
    text.fill("x" * 8001)
    assert page.locator("#note-text-count").inner_text() == "8,001 of 8,000 characters: 1 too many"
    words = "She said: “<I want to go back to school>” and showed us her books."
    form.get_by_label("What happened, or the note").fill(words)
    shot(page, "case_file_adding_a_contact")
    form.get_by_role("button", name="Add to the case file").click()
    page.get_by_text("Your contact is in the case file.").wait_for()
    note = page.locator("ul.notes li.note").first
    assert words in note.inner_text()  # the client's words exactly, none stripped
    header = note.locator(".note-header").inner_text()
    assert f"case {code}" in header and "caseworker caseworker1" in header and "supervisor supervisor1" in header
    assert "Contact · Direct (with the child or family) · Home visit" in note.inner_text()
    assert page.locator("#tracking-heading + dl").inner_text().split("Last contact")[1].split("\n")[1].strip() != "—"
    shot(page, "case_file_contact_added")

    page.get_by_role("link", name="Printable summary").click()
    page.emulate_media(media="print")  # as the browser prints it (R33: the header on the sheet)
    header = page.get_by_label("Case header").inner_text()
    for shown in ("Date", code, "Caseworker", "caseworker1", "Supervisor", "supervisor1", "Status"):
        assert shown in header
    assert not page.locator("header.top").is_visible() and words in page.locator("ul.notes").inner_text()
    shot(page, "case_summary_printed")


def _add_from_the_file(page, text: str, confidential: bool) -> None:
    form = page.locator("form.note-form")
    if not form.is_visible():
        page.get_by_text("Add a contact or note", exact=True).last.click()
    form.get_by_role("radio", name="A note").check()
    form.get_by_label("What happened, or the note").fill(text)
    if confidential:
        form.get_by_label("Strictly confidential", exact=False).check()
    form.get_by_role("button", name="Add to the case file").click()


def _registered(live_app) -> str:
    """A case admitted by the committee, with consent: caseworker1 is its caseworker."""
    code = _before_the_committee(live_app)
    for member in MEMBERS:
        _do(live_app.api(member), code, "mine", {"vote": "approve", "comment": "admit"})
    _do(live_app.api("caseworker1"), code, "mine", {"consent": "given", "consent_by": "client_and_caregiver",
                                                    "child_assent": "given"})
    return code


def test_a_caseworker_adds_a_note_and_a_confidential_entry_that_an_administrator_does_not_see(page, live_app):
    code = _registered(live_app)
    plain = "Met the teacher: the school will take her back in September."
    secret = "Her mother told us, in confidence, that the father has threatened the family."
    sign_in(page, "caseworker1")
    page.goto(f"/cases/{code}")
    _add_from_the_file(page, plain, confidential=False)
    page.get_by_text("Your note is in the case file.").wait_for()
    assert plain in page.locator("ul.notes").first.inner_text()
    shot(page, "case_file_note_added")
    _add_from_the_file(page, secret, confidential=True)
    page.get_by_text("Your note is in the strictly confidential section.").wait_for()
    section = page.locator("section.confidential")
    assert secret in section.inner_text()
    assert secret not in page.locator("ul.notes").first.inner_text()  # not among the file's ordinary notes
    section.scroll_into_view_if_needed()
    shot(page, "case_file_confidential_entry_added")

    page.context.clear_cookies()
    sign_in(page, "admin")  # reads case files (without names) for support, with no need to know the secret
    page.goto(f"/cases/{code}")
    page.get_by_role("heading", name=f"Case {code}").wait_for()
    assert plain in page.locator("ul.notes").first.inner_text()
    assert secret not in page.content() and page.locator("section.confidential").count() == 0
    shot(page, "admin_sees_the_note_not_the_confidential_entry")


def test_a_likely_duplicate_referral_is_flagged_and_the_referrer_adds_it_to_the_case(page, live_app):
    code = _refer(live_app.api("caseworker1"))  # caseworker1 referred it; screening is offered to the caseworkers
    sign_in(page, "caseworker1")
    page.goto("/cases/new")
    page.get_by_label("Referred by (source)").select_option(label="Community member")
    page.get_by_label("Primary concern").fill("Seen begging near the bus station")
    page.get_by_label("Name", exact=True).fill("  perpetua oakenshield-WRAY ")
    page.get_by_label("Date of birth").fill(CHILD["date_of_birth"])
    page.get_by_role("button", name="Record the referral").click()
    warning = page.locator(".duplicate-warning")
    warning.wait_for()
    assert "This person may already have an open case" in warning.inner_text()
    assert code in warning.inner_text()
    assert page.get_by_label("Name", exact=True).input_value().strip() == "perpetua oakenshield-WRAY"  # nothing lost
    shot(page, "referral_likely_duplicate_flagged")
    sent = page.evaluate("""() => Object.fromEntries(new FormData(document.querySelector('form.referral')))""")
    page.get_by_role("button", name=f"Add this referral to case {code}").click()
    page.get_by_text(f"The referral was added to case {code}.").wait_for()
    assert "Another referral came in for this person" in page.locator("ul.notes").inner_text()
    resent = page.request.post("/cases/new", form={**sent, "link_to": code})  # back, and the same form again
    assert resent.ok and "This form was sent before" in resent.text()
    page.reload()
    assert page.locator("ul.notes").inner_text().count("Another referral came in") == 1
    shot(page, "referral_added_to_the_matching_case")


def test_a_likely_duplicate_the_referrer_may_not_see_is_flagged_without_its_code(page, live_app):
    code = _before_the_committee(live_app)  # the intake is caseworker1's; caseworker2 does not see it
    sign_in(page, "caseworker2")
    page.goto("/cases/new")
    page.get_by_label("Referred by (source)").select_option(label="NGO")
    page.get_by_label("Primary concern").fill("Another referral")
    page.get_by_label("Name", exact=True).fill(CHILD["name"])
    page.get_by_label("Date of birth").fill(CHILD["date_of_birth"])
    page.get_by_role("button", name="Record the referral").click()
    warning = page.locator(".duplicate-warning")
    warning.wait_for()
    assert "A case you cannot see already matches" in warning.inner_text()
    assert code not in page.content()
    shot(page, "referral_duplicate_not_visible_to_referrer")
    page.get_by_role("button", name="Record it as a new case anyway").click()
    page.get_by_text("Referral recorded as case").wait_for()


def test_a_committee_member_opens_the_file_during_the_conference_and_not_after(page, live_app):
    code = _before_the_committee(live_app)
    sign_in(page, "committee2")
    page.goto("/committee")
    page.locator("article.vote-item").filter(has_text=code).get_by_role("link", name=code).click()
    page.get_by_role("heading", name=f"Case {code}").wait_for()
    assert "Identity not shown" in page.locator("#person-heading + p").inner_text()  # a code, never the name
    assert CHILD["name"] not in page.content()
    assert page.locator("#add-note").count() == 0  # committee members read, they do not write
    shot(page, "committee_member_opens_the_case_file")
    page.goto("/cases")
    assert code in page.locator("table.cases").inner_text()

    for member in MEMBERS:
        _do(live_app.api(member), code, "mine", {"vote": "approve", "comment": "admit"})
    response = page.goto(f"/cases/{code}")
    assert response is not None and response.status == 403
    assert CHILD["name"] not in page.content() and "Primary concern" not in page.content()
    shot(page, "committee_member_refused_after_the_conference")
    page.goto("/cases")
    assert code not in page.content()
