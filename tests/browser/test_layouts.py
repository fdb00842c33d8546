"""Every page is usable on a phone (390 px) and a tablet (768 px): nothing scrolls
sideways, nothing is cut off; each page as every demo user who reaches it — the sign-in page,
every task form the cases can open (one task per form, as the one who works on it), the
crisis report, the process owners' instance and editor pages. On both, the case file puts the
person and tracking panels before its long timeline."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine.models import HumanTask, ProcessInstance, ProcessModel, User
from tests.browser.conftest import shot, sign_in
from tests.webui.test_pages_vocabulary import REFERRALS, _one_task_per_form
from tests.webui.test_pages_vocabulary import _cases as _cases_at_decisions
from tests.workflows.case_driver import NEEDS_MEDIUM, PLAN, CaseDriver

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
    _cases_at_decisions(live_app.ctx, driver)  # a plan to approve, referrals to follow up, a closure to review
    rating, planning, referred = driver.refer(), driver.refer(), driver.refer()
    for code in (rating, planning, referred):
        driver.to_registered(code)  # the risk rating's grid of needs is open
    for code in (planning, referred):
        driver.assess(code)  # the case plan, with its list of referrals, is open
    driver.do(referred, "case_plan", {**PLAN, "referrals": REFERRALS})
    driver.do(referred, "approve_case_plan", {"vote": "approve"})  # a referral's outcome to record
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
        instance_id = session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id).limit(1))
    return {"working": working, "committee": before_committee, "fresh": fresh, "task": task_id, "model": model_id,
            "instance": instance_id}


# who works on a task offered to a role (a task held by someone is opened by its holder)
ROLE_USERS = {"caseworker": "caseworker1", "supervisor": "supervisor1", "director": "director1",
              "committee_member": "committee1", "crisis_team": "crisislead1"}


def _task_forms(live_app) -> dict[tuple[str, str], str]:
    """Each open task form (one task per form): (the user who fills it in, its page) → a name for its screenshots."""
    wanted = _one_task_per_form(live_app.ctx)
    with live_app.ctx.session_factory() as session:
        rows = session.execute(select(HumanTask.id, HumanTask.role, HumanTask.form, User.username).outerjoin(
            User, User.id == HumanTask.assignee_id).where(HumanTask.id.in_(wanted)).order_by(HumanTask.form)).all()
    forms = {}
    for task_id, role, form, holder in rows:
        name = (form or "form").removesuffix(".json")
        named = sum(1 for shown in forms.values() if shown.startswith(name))
        forms[holder or ROLE_USERS[role], f"/tasks/{task_id}"] = f"{name}_{named + 1}" if named else name
    return forms


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
        "caseworker1": [*everyone, "/account", "/?scope=claimable", "/tasks/{task}", "/cases", "/cases/new",
                        *case_pages],
        "caseworker2": [*everyone, "/cases", "/cases/new", "/cases/{fresh}"],
        "supervisor1": [*everyone, "/?scope=team", "/dashboard", "/committee", "/cases", *case_pages],
        "director1": [*everyone, "/dashboard", "/committee", "/cases", "/cases/{committee}"],
        "committee1": [*everyone, "/committee", "/cases", "/cases/{committee}"],
        "committee2": [*everyone, "/committee"],
        "processowner1": [*everyone, "/account", "/models", "/models/{model}", "/models/instances/{instance}",
                          "/models/edit/case_planning.bpmn"],
        "admin": [*everyone, "/admin/people", "/admin/people/caseworker1", "/cases"],
        "crisislead1": [*everyone, "/account", "/crisis", "/crisis/{crisis}", "/crisis/{crisis}/data-validation",
                        "/crisis/{crisis}/report"],
    }


# a screenshot of these, to look at: (user, page, width) → name
SHOTS = {("caseworker1", "/", 390): "phone_inbox", ("caseworker1", "/cases/{working}", 390): "phone_case_file",
         ("caseworker1", "/", 768): "tablet_inbox", ("supervisor1", "/dashboard", 768): "tablet_dashboard_all_tasks",
         ("supervisor1", "/dashboard", 390): "phone_dashboard", ("caseworker1", "/cases/new", 390): "phone_referral",
         ("committee1", "/committee", 390): "phone_committee", ("admin", "/admin/people", 390): "phone_admin_people",
         ("caseworker1", "/notifications", 390): "phone_notifications",
         ("caseworker1", "/cases/{working}/summary", 768): "tablet_case_summary",
         ("supervisor1", "/cases", 390): "phone_case_list"}


# On a narrow screen the case file's side panels come first: where the top of each heading is
PANEL_TOPS = """() => Object.fromEntries(['person-heading', 'tracking-heading', 'timeline-heading'].map(
  id => [id, document.getElementById(id) ? document.getElementById(id).getBoundingClientRect().top : null]))"""


def _measure(page, where: str, problems: list[str], shots: dict) -> None:
    """The page as it is, at each width: nothing sticks out; a screenshot where one is wanted."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 500 else 1024})
        found = page.evaluate(OVERFLOW)
        if found:
            problems.append(f"{where} at {width} px: {'; '.join(found[:4])}")
        if width in shots:
            shot(page, shots[width])
    page.set_viewport_size({"width": WIDTHS[0], "height": 844})


def test_no_page_scrolls_sideways_or_cuts_anything_off_on_a_phone_or_a_tablet(page, live_app):
    cases = _cases(live_app)
    problems: list[str] = []
    page.set_viewport_size({"width": WIDTHS[0], "height": 844})
    page.goto("/login")
    _measure(page, "signed out /login", problems, {390: "phone_sign_in", 768: "tablet_sign_in"})
    pages = _pages()
    task_forms = _task_forms(live_app)
    assert len(task_forms) >= 10  # the forms of several steps and roles
    for username, path in task_forms:
        pages.setdefault(username, []).append(path)
    for username, paths in pages.items():
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
            if path.startswith("/tasks/") and page.locator("#form-editor").count():
                page.locator("#form-editor:not([data-loading])").wait_for()  # the form as it is filled in
            shots = {width: name for (user, shown, width), name in SHOTS.items() if (user, shown) == (username, path)}
            if (username, path) in task_forms:
                shots = {width: f"{'phone' if width < 500 else 'tablet'}_task_{task_forms[username, path]}"
                         for width in WIDTHS}
            _measure(page, f"{username} {path}", problems, shots)
            if task_forms.get((username, path)) == "case_plan":  # a referral's row, with its buttons in words
                page.get_by_role("button", name="Add referral").click()
                assert page.get_by_role("button", name="Remove referral").count() == 1
                _measure(page, f"{username} {path} with a referral", problems,
                         {390: "phone_task_case_plan_with_a_referral", 768: "tablet_task_case_plan_with_a_referral"})
    assert not problems, "\n".join(problems)


def test_on_a_phone_or_a_tablet_the_case_file_shows_the_person_and_tracking_before_the_timeline(page, live_app):
    cases = _cases(live_app)
    sign_in(page, "caseworker1")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 500 else 1024})
        page.goto(f"/cases/{cases['working']}")
        tops = page.evaluate(PANEL_TOPS)
        assert None not in tops.values(), tops
        assert tops["person-heading"] < tops["timeline-heading"], (width, tops)
        assert tops["tracking-heading"] < tops["timeline-heading"], (width, tops)
    shot(page, "tablet_case_file_panels_first")
