"""An Arabic-speaking caseworker works in Arabic, right to left: the inbox, a task's page and
the case file are in Arabic with the navigation, tables and panels mirrored. (The task form's
own questions are the workflow catalogues'; this checks the page around them.)"""
from __future__ import annotations

from sqlalchemy import select

from engine.models import User
from tests.browser.conftest import shot

REFERRAL = {"referral": {"source": "ngo", "primary_concern": "Out of school, working at the market"},
            "client": {"name": "Wenonah Bracklethorpe", "date_of_birth": "2013-05-04"}}


def _speaks_arabic(live_app, username: str) -> None:
    with live_app.ctx.session_factory() as session:
        session.scalars(select(User).where(User.username == username)).one().locale = "ar"
        session.commit()


def _sign_in_in_arabic(page, username: str) -> None:
    page.goto("/")
    page.locator("#username").fill(username)
    page.locator("#password").fill("demo")
    page.locator("form[action^='/login'] button[type=submit]").click()
    page.get_by_role("button", name="تسجيل الخروج").wait_for()


def _right_to_left(page) -> None:
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    width = page.viewport_size["width"]
    brand = page.locator(".brand").bounding_box()
    signout = page.locator(".signout").bounding_box()
    assert brand["x"] > width / 2, "the brand starts the header: on the right"
    assert signout["x"] < width / 2, "the sign-out control ends the header: on the left"


def test_an_arabic_speaking_caseworker_works_in_arabic_right_to_left(page, live_app):
    code = live_app.api("supervisor1").post("/api/cases", json=REFERRAL).get_json()["case_code"]
    _speaks_arabic(live_app, "caseworker1")
    _sign_in_in_arabic(page, "caseworker1")

    # the inbox
    page.get_by_role("heading", name="صندوق المهام", level=1).wait_for()
    _right_to_left(page)
    nav = page.get_by_role("navigation", name="التنقل الرئيسي")
    assert "صندوق المهام" in nav.inner_text() and "الحالات" in nav.inner_text()
    table = page.locator("table.tasks")
    headers = table.locator("thead th").all_inner_texts()
    assert headers[:2] == ["الحالة", "المهمة"]
    first_header, second_header = (table.locator("thead th").nth(i).bounding_box() for i in (0, 1))
    assert first_header["x"] > second_header["x"], "the first column is the rightmost"
    row = table.locator("tbody tr", has_text=code)
    assert row.locator("td.case-code").inner_text() == code  # the code itself stays left to right
    assert "Wenonah" not in page.content()
    shot(page, "languages_arabic_inbox")

    # a task's page: the page around the form
    row.locator("td a[href^='/tasks/']").click()
    page.get_by_role("button", name="إرسال").wait_for()
    _right_to_left(page)
    side = page.get_by_role("complementary", name="عن هذه المهمة")
    assert "هذه المهمة" in side.inner_text() and "الأولوية" in side.inner_text()
    assert page.get_by_role("navigation", name="مسار التنقل").inner_text().startswith("صندوق المهام")
    counter = page.locator(".char-count").first
    counter.wait_for()
    assert "من 4,000 حرف" in counter.inner_text()  # the form's counters speak Arabic too
    form, aside = page.locator(".task-form").bounding_box(), side.bounding_box()
    assert form["x"] > aside["x"], "the form comes first: on the right, the panels beside it on the left"
    shot(page, "languages_arabic_task_form")

    # the case file
    page.goto(f"/cases/{code}")
    page.get_by_role("heading", name="التسلسل الزمني").wait_for()
    _right_to_left(page)
    assert page.get_by_role("heading", name="المهام المفتوحة").is_visible()
    person = page.locator("section[aria-labelledby=person-heading]").inner_text()
    assert "الشخص" in person and "Identity" not in person
    assert "Timeline" not in page.locator("main").inner_text()
    shot(page, "languages_arabic_case_file")


def test_a_caseworker_chooses_arabic_on_my_account_and_the_pages_turn_right_to_left(page, live_app):
    page.goto("/")
    page.get_by_label("Username").fill("caseworker2")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="My account").click()  # beside their name in the header
    page.get_by_role("heading", name="My account", level=1).wait_for()
    assert page.locator("html").get_attribute("dir") is None
    page.get_by_label("العربية").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="حسابي", level=1).wait_for()
    _right_to_left(page)
    assert "حُفظت لغتك" in page.locator(".flash").inner_text()
    assert page.get_by_label("العربية").is_checked()
    shot(page, "languages_arabic_my_account")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the narrow layout mirrors too
    page.goto("/")
    page.get_by_role("heading", name="صندوق المهام", level=1).wait_for()
    assert page.locator("html").get_attribute("dir") == "rtl"
    shot(page, "languages_arabic_inbox_phone")


def test_an_arabic_speaking_supervisor_reads_the_team_dashboard_right_to_left(page, live_app):
    live_app.api("supervisor1").post("/api/cases", json=REFERRAL)
    _speaks_arabic(live_app, "supervisor1")
    _sign_in_in_arabic(page, "supervisor1")
    page.goto("/dashboard")
    page.get_by_role("heading", name="لوحة متابعة الفريق", level=1).wait_for()
    _right_to_left(page)
    chart = page.locator("figure.chart svg").first
    assert chart.evaluate("e => getComputedStyle(e).direction") == "ltr"  # a drawing keeps its geometry
    shot(page, "languages_arabic_dashboard")


def test_the_crisis_team_follows_a_drill_in_arabic(page, live_app):
    live_app.api("supervisor1").post("/api/cases", json=REFERRAL)
    drill = live_app.api("crisislead1").post("/api/crises", json={
        "kind": "it_failure", "description": "Server room flooded", "drill": True,
        "affected_functions": ["5.1", "5.4"]})
    assert drill.status_code == 201, drill.get_json()
    _speaks_arabic(live_app, "crisislead1")
    _sign_in_in_arabic(page, "crisislead1")
    banner = page.get_by_role("region", name="تمرين جارٍ")
    assert "عطل في تقنية المعلومات" in banner.inner_text()  # every page says so, in Arabic
    page.goto(f"/crisis/{drill.get_json()['id']}")
    page.get_by_role("heading", name="التفقّدات التالية").wait_for()
    _right_to_left(page)
    shot(page, "languages_arabic_crisis_dashboard")
