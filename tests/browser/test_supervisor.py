"""A supervisor sees the team's overdue task on the dashboard and hands it to someone else."""
from __future__ import annotations

import datetime as dt

from engine import clock
from tests.browser.conftest import shot, sign_in


def test_supervisor_sees_the_overdue_task_on_the_dashboard_and_reassigns_it(page, live_app):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock.freeze(start)
    caseworker = live_app.api("caseworker1")
    assert caseworker.post("/api/processes/sample_intake/instances", json={}).status_code == 201
    task = caseworker.get("/api/tasks?scope=claimable").get_json()["tasks"][0]
    assert caseworker.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    due = dt.datetime.fromisoformat(task["due_at"])
    clock.freeze(due + dt.timedelta(hours=3))  # three hours late

    sign_in(page, "supervisor1")
    dashboard_link = page.get_by_role("link", name="Dashboard")
    assert dashboard_link.locator(".count-bad").inner_text() == "1"  # overdue on the team, in the navigation
    dashboard_link.click()
    overdue = page.locator("#overdue")
    row = overdue.locator(f"tr[data-task-id='{task['id']}']")
    row.wait_for()
    assert "overdue" in row.inner_text()
    assert "caseworker1" in row.inner_text()
    assert page.locator(".card.bad .number").first.inner_text() == "1"
    assert page.get_by_role("img", name="Active cases per caseworker").count() == 1
    shot(page, "supervisor_dashboard_overdue")

    row.get_by_label(f"Reassign “{task['title']}”").select_option("caseworker2")
    row.get_by_role("button", name="Reassign").click()
    page.get_by_text("now lies with caseworker2").wait_for()
    assert "caseworker2" in page.locator(f"#overdue tr[data-task-id='{task['id']}']").inner_text()
    caseworker = live_app.api("caseworker1")  # a fresh token: the first one's 12 hours are over on the frozen clock
    assert caseworker.get(f"/api/tasks/{task['id']}").status_code == 403  # no longer caseworker1's
