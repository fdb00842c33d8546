"""The supervisor's dashboard: caseloads against the DMN cap, late tasks, cases by risk and
status, reviews due; reassigning a task and handing a case over (R06, R29, R30)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from engine import clock
from engine.models import HumanTask, TaskState
from engine.people.directory import supervisee_ids
from engine.process import deployment as model_service
from engine.settings import PROJECT_ROOT
from tests.webui.test_pages_support import page_token, sign_in
from tests.workflows.case_driver import DAY, CaseDriver


def _registered(app, count: int = 1, needs=None):
    driver = CaseDriver(app.extensions["engine_ctx"])
    codes = []
    for _ in range(count):
        code = driver.refer()
        driver.to_registered(code)
        if needs is not None:
            driver.assess_and_plan(code, needs)
        codes.append(code)
    return driver, codes


def _cap_in(html: str) -> str:
    return re.search(r"dashed line: cap of (\d+)", html).group(1)


def test_R06_caseloads_are_drawn_against_the_cap_kept_in_the_decision_table(app):
    driver, codes = _registered(app, 2)
    html = sign_in(app, "supervisor1").get("/dashboard").get_data(as_text=True)
    assert _cap_in(html) == "25"
    caseworker = driver.username(driver.case(codes[0]).caseworker_id)
    assert re.search(rf"<td>{caseworker}</td><td[^>]*>\d+", html)
    assert 'role="img"' in html and "Active cases per caseworker" in html

    source = (PROJECT_ROOT / "workflows" / "dmn" / "caseload_limits.dmn").read_text()
    lowered = source.replace('<dmn:outputEntry id="rule_r06_caseworker_out1"><dmn:text>25</dmn:text>',
                             '<dmn:outputEntry id="rule_r06_caseworker_out1"><dmn:text>20</dmn:text>')
    assert lowered != source
    with app.extensions["engine_ctx"].uow() as uow:
        model_service.deploy_files(uow, {"caseload_limits.dmn": lowered})
        uow.commit()
    assert _cap_in(sign_in(app, "supervisor1").get("/dashboard").get_data(as_text=True)) == "20"


def test_R30_late_tasks_cases_by_risk_and_status_and_reviews_due(app):
    driver, codes = _registered(app, 1, needs={"red_needs": ["child_labour"], "yellow_needs": []})
    driver.later(30 * DAY)
    html = sign_in(app, "supervisor1").get("/dashboard").get_data(as_text=True)
    overdue = html.split('id="overdue-heading"')[1].split('id="week-heading"')[0]
    assert "overdue" in overdue and codes[0] in overdue
    assert re.search(r"high 1;", html)  # the risk chart's text alternative
    assert re.search(r"Open 1;", html) and "(O)" not in html  # the status chart: the label, never the code
    with app.extensions["engine_ctx"].session_factory() as session:  # the team's late work, counted here
        team = supervisee_ids(session, driver.uid("supervisor1"))
        late = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.state == TaskState.READY, HumanTask.assignee_id.in_(team), HumanTask.due_at < clock.now()))
    assert late > 0 and f'aria-label="{late} overdue"' in html


def test_a_supervisor_reassigns_a_late_task_within_the_team(app):
    driver, codes = _registered(app, 1)
    task = driver.tasks(codes[0])[0]
    holder = driver.assignee(task)
    other = "caseworker2" if holder == "caseworker1" else "caseworker1"
    user = sign_in(app, "supervisor1")
    token = page_token(user, "/dashboard")
    resp = user.post(f"/dashboard/tasks/{task.id}/reassign", data={"csrf_token": token, "assignee": other},
                     follow_redirects=True)
    assert "now lies with " + other in resp.get_data(as_text=True)
    assert driver.assignee(driver.tasks(codes[0])[0]) == other
    refused = user.post(f"/dashboard/tasks/{task.id}/reassign", data={"csrf_token": token, "assignee": "committee1"},
                        follow_redirects=True)
    assert "Not reassigned" in refused.get_data(as_text=True)
    assert driver.assignee(driver.tasks(codes[0])[0]) == other


def test_R29_a_case_is_handed_over_with_its_open_tasks(app):
    driver, codes = _registered(app, 1)
    code = codes[0]
    before = driver.username(driver.case(code).caseworker_id)
    after = "caseworker2" if before == "caseworker1" else "caseworker1"
    user = sign_in(app, "supervisor1")
    resp = user.post("/dashboard/cases/reassign", follow_redirects=True, data={
        "csrf_token": page_token(user, "/dashboard"), "case_code": code, "caseworker": after, "reason": "leave"})
    assert f"Case {code} now lies with {after}" in resp.get_data(as_text=True)
    assert driver.username(driver.case(code).caseworker_id) == after
    assert all(driver.assignee(t) == after for t in driver.tasks(code) if t.role == "caseworker")
    unknown = user.post("/dashboard/cases/reassign", follow_redirects=True, data={
        "csrf_token": page_token(user, "/dashboard"), "case_code": "CM-NONE-NONE", "caseworker": after,
        "reason": "x"})
    assert "not handed over" in unknown.get_data(as_text=True)


def test_the_dashboard_is_for_supervisors_and_the_director(app):
    assert sign_in(app, "caseworker1").get("/dashboard").status_code == 403
    assert sign_in(app, "director1").get("/dashboard").status_code == 200
