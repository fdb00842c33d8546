"""Labels on every input, keyboard use, visible focus, and a tablet-sized screen."""
from __future__ import annotations

from tests.browser.conftest import shot, sign_in

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby')
                && !el.closest('[role=group][aria-labelledby]'))
  .map(el => el.outerHTML.slice(0, 120))"""


def _referral(live_app) -> tuple[str, str]:
    supervisor, caseworker = live_app.api("supervisor1"), live_app.api("caseworker1")
    code = supervisor.post("/api/cases", json={"referral": {"source": "ngo", "primary_concern": "alone"},
                                               "client": {"name": "Perpetua Nightingale"}}).get_json()["case_code"]
    task = next(t for t in caseworker.get("/api/tasks?scope=claimable").get_json()["tasks"] if t["case_code"] == code)
    return code, task["id"]


def test_every_input_on_every_page_has_a_label(page, live_app):
    code, task_id = _referral(live_app)
    for username, paths in (("caseworker1", ["/", f"/tasks/{task_id}", "/cases", "/cases/new", f"/cases/{code}"]),
                            ("supervisor1", ["/dashboard", "/?scope=team", "/committee"]),
                            ("processowner1", ["/models"])):
        page.context.clear_cookies()
        sign_in(page, username)
        for path in paths:
            page.goto(path)
            if path.startswith("/tasks/"):
                page.locator("[data-schemapath='root.eligible'] select").wait_for()
            assert page.evaluate(UNLABELLED) == [], f"{username} {path}"


def test_sign_in_and_open_a_task_with_the_keyboard_alone(page, live_app):
    code, task_id = _referral(live_app)
    page.goto("/")
    assert page.get_by_label("Username").evaluate("el => el === document.activeElement")  # ready to type
    page.keyboard.type("caseworker1")
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Sign out").wait_for()

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.bounding_box()["x"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    link = page.get_by_role("link", name="Screen the referral")
    link.focus()
    outline = link.evaluate("el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px")  # focus is visible
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Screen the referral", level=1).wait_for()
    assert code in page.locator("h1 + p.meta").inner_text()


def test_pages_fit_a_tablet_screen(page, live_app):
    _referral(live_app)
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, "caseworker1")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("link", name="Screen the referral").click()
    page.locator("[data-schemapath='root.eligible'] select").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "tablet_task_form")
    page.context.clear_cookies()
    sign_in(page, "supervisor1")
    page.goto("/dashboard")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "tablet_dashboard")
