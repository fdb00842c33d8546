"""Every page is usable on a phone (390 px) and a tablet (768 px): nothing scrolls
sideways, nothing is cut off; each page as every demo user who reaches it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine.models import HumanTask, ProcessModel
from tests.browser.conftest import shot, sign_in
from tests.workflows.case_driver import NEEDS_MEDIUM, CaseDriver

WIDTHS = (390, 768)

# What sticks out of the page or of its own box: the page wider than the screen, a
# scrolling table whose rows must be scrolled to reach their controls, a control (button,
# field, link) or a table whose box runs past the right edge of the screen. Diagrams and
# decision tables are drawings that pan inside their own box: only the box must fit.
OVERFLOW = """() => {
  const width = window.innerWidth, found = [];
  if (document.documentElement.scrollWidth > width) found.push('page ' + document.documentElement.scrollWidth);
  for (const box of document.querySelectorAll('.table-scroll')) {
    if (box.scrollWidth > box.clientWidth + 1) found.push('scrolling table in ' + (box.closest('section') || box).id);
  }
  for (const el of document.querySelectorAll('button, input, select, textarea, a, .diagram, svg, table')) {
    if (el.offsetParent === null || el.closest('.visually-hidden, .skip')) continue;
    if (el.closest('.diagram') && !el.classList.contains('diagram')) continue;  // a drawing pans inside its box
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 1) found.push(el.tagName.toLowerCase() + ' "' +
      (el.innerText || el.name || el.id || '').trim().slice(0, 40) + '" ends at ' + Math.round(r.right));
  }
  return found;
}"""


def _cases(live_app) -> dict:
    """A case in every state the pages show: one assessed with notes, one before the
    committee, one unclaimed referral."""
    driver = CaseDriver(live_app.ctx, start=dt.datetime.now(dt.UTC).replace(microsecond=0))
    working = driver.refer(client={"name": "Lavinia Quarrendon", "date_of_birth": "2014-02-03"})
    driver.to_registered(working)
    driver.do(working, "initial_assessment", NEEDS_MEDIUM)
    before_committee = driver.refer()
    driver.screen(before_committee)
    fresh = driver.refer(by="supervisor1")
    caseworker = live_app.api("caseworker1")
    assert caseworker.post(f"/api/cases/{working}/notes", json={
        "kind": "contact", "contact_type": "direct", "contact_method": "home_visit",
        "contact_at": dt.datetime.now(dt.UTC).isoformat(),
        "text": "Visited at home. The child said: “I want to go back to school, not the market.” " * 4,
    }).status_code == 201
    with live_app.ctx.session_factory() as session:
        task_id = session.query(HumanTask.id).filter(HumanTask.case_code == working,
                                                     HumanTask.state == "ready").first()[0]
        model_id = session.scalar(select(ProcessModel.id).order_by(ProcessModel.id).limit(1))
    return {"working": working, "committee": before_committee, "fresh": fresh, "task": task_id, "model": model_id}


def _declare_disruption(live_app) -> int:
    """Last, so that its fan-out changes nobody else's pages."""
    crisis = live_app.api("crisislead1").post("/api/crises", json={
        "kind": "it_failure", "description": "The case server is down", "affected_functions": ["5.1"]})
    assert crisis.status_code == 201, crisis.get_json()
    return crisis.get_json()["id"]


def _pages() -> dict[str, list[str]]:
    """The pages each demo user reaches, ``{…}`` standing for the cases of :func:`_cases`."""
    case_pages = ["/cases/{working}", "/cases/{working}/summary"]
    everyone = ["/", "/notifications"]
    return {
        "caseworker1": [*everyone, "/?scope=claimable", "/tasks/{task}", "/cases", "/cases/new", *case_pages],
        "caseworker2": [*everyone, "/cases", "/cases/new", "/cases/{fresh}"],
        "supervisor1": [*everyone, "/?scope=team", "/dashboard", "/committee", "/cases", *case_pages],
        "director1": [*everyone, "/dashboard", "/committee", "/cases", "/cases/{committee}"],
        "committee1": [*everyone, "/committee", "/cases", "/cases/{committee}"],
        "committee2": [*everyone, "/committee"],
        "processowner1": [*everyone, "/models", "/models/{model}"],
        "admin": [*everyone, "/admin/people", "/admin/people/caseworker1", "/cases"],
        "crisislead1": [*everyone, "/crisis", "/crisis/{crisis}", "/crisis/{crisis}/data-validation"],
    }


# a screenshot of these, to look at: (user, page, width) → name
SHOTS = {("caseworker1", "/", 390): "phone_inbox", ("caseworker1", "/cases/{working}", 390): "phone_case_file",
         ("caseworker1", "/", 768): "tablet_inbox", ("supervisor1", "/dashboard", 768): "tablet_dashboard_all_tasks",
         ("supervisor1", "/dashboard", 390): "phone_dashboard", ("caseworker1", "/cases/new", 390): "phone_referral",
         ("committee1", "/committee", 390): "phone_committee", ("admin", "/admin/people", 390): "phone_admin_people",
         ("caseworker1", "/notifications", 390): "phone_notifications",
         ("caseworker1", "/cases/{working}/summary", 768): "tablet_case_summary",
         ("supervisor1", "/cases", 390): "phone_case_list"}


def test_no_page_scrolls_sideways_or_cuts_anything_off_on_a_phone_or_a_tablet(page, live_app):
    cases = _cases(live_app)
    problems = []
    for username, paths in _pages().items():
        if username == "crisislead1":
            cases["crisis"] = _declare_disruption(live_app)
        page.set_viewport_size({"width": WIDTHS[0], "height": 844})
        page.context.clear_cookies()
        sign_in(page, username)
        for path in paths:
            response = page.goto(path.format(**cases))
            if response is None or response.status >= 400:
                problems.append(f"{username} {path}: answered {response and response.status}")
                continue
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 844 if width < 500 else 1024})
                found = page.evaluate(OVERFLOW)
                if found:
                    problems.append(f"{username} {path} at {width} px: {'; '.join(found[:4])}")
                if (username, path, width) in SHOTS:
                    shot(page, SHOTS[username, path, width])
            page.set_viewport_size({"width": WIDTHS[0], "height": 844})
    assert not problems, "\n".join(problems)
