"""The inbox page: scopes, order, marks, filters, paging, counts, claim and hand back."""
from __future__ import annotations

import datetime as dt

from engine import clock
from tests.webui.test_pages_support import page_token, refer, row_ids, sign_in, task_of


def _start_sample(client, headers) -> None:
    assert client.post("/api/processes/sample_intake/instances", headers=headers, json={}).status_code == 201


def test_tasks_are_listed_due_first_with_overdue_and_due_today_marked(app, client, token_for):
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    cw = token_for("caseworker1")
    _start_sample(client, cw)  # due 24 h later: tomorrow 08:00
    clock.freeze(start + dt.timedelta(hours=20))
    cw = token_for("caseworker1")  # a fresh token: the first one's 12 hours are over
    _start_sample(client, cw)  # due the day after tomorrow 04:00
    first, second = (t["id"] for t in client.get("/api/tasks?scope=claimable", headers=cw).get_json()["tasks"])
    user = sign_in(app, "caseworker1")

    clock.freeze(start + dt.timedelta(hours=22))  # 06:00 next day: the first is due today
    html = user.get("/").get_data(as_text=True)
    assert row_ids(html) == [first, second]
    assert 'class="due-today" data-task-id="' + first in html
    assert "due today" in html and "overdue" not in html.split("<tbody>")[1]

    clock.freeze(start + dt.timedelta(hours=30))  # the first is late now
    html = user.get("/").get_data(as_text=True)
    assert 'class="overdue" data-task-id="' + first in html
    overdue_only = user.get("/?status=overdue").get_data(as_text=True)
    assert row_ids(overdue_only) == [first]


def test_filters_by_case_and_process_and_counts_in_the_navigation(app, client, token_for):
    code = refer(client, token_for)
    _start_sample(client, token_for("caseworker1"))
    user = sign_in(app, "caseworker1")
    html = user.get("/").get_data(as_text=True)
    assert len(row_ids(html)) == 2
    assert 'aria-label="2 open"' in html  # the Inbox link's count
    by_case = user.get(f"/?case={code}").get_data(as_text=True)
    assert len(row_ids(by_case)) == 1 and code in by_case
    by_process = user.get("/?process=sample_intake").get_data(as_text=True)
    assert len(row_ids(by_process)) == 1 and code not in by_process.split("<tbody>")[1]
    assert "No tasks match these filters" in user.get("/?case=CM-NONE-NONE").get_data(as_text=True)


def test_claim_and_hand_back_from_the_inbox(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    user = sign_in(app, "caseworker1")
    token = page_token(user)
    resp = user.post(f"/tasks/{task['id']}/claim", data={"csrf_token": token, "next": "/?scope=mine"})
    assert resp.status_code == 302 and resp.location.endswith("/?scope=mine")
    mine = user.get("/?scope=mine").get_data(as_text=True)
    assert row_ids(mine) == [task["id"]] and "Hand back" in mine
    other = sign_in(app, "caseworker2")
    assert task["id"] not in row_ids(other.get("/?scope=claimable").get_data(as_text=True))
    # someone else cannot claim it any more: a clear message, nothing changes
    resp = other.post(f"/tasks/{task['id']}/claim", data={"csrf_token": page_token(other)}, follow_redirects=True)
    assert "Could not claim it" in resp.get_data(as_text=True)
    user.post(f"/tasks/{task['id']}/unclaim", data={"csrf_token": token})
    assert task["id"] in row_ids(other.get("/?scope=claimable").get_data(as_text=True))


def test_a_claim_without_the_form_token_is_refused(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    user = sign_in(app, "caseworker1")
    assert user.post(f"/tasks/{task['id']}/claim").status_code == 400
    assert client.get(f"/api/tasks/{task['id']}", headers=token_for("caseworker1")).get_json()["assignee"] is None


def test_the_team_scope_is_for_supervisors_only(app, client, token_for):
    code = refer(client, token_for)
    task = task_of(client, token_for("caseworker1"), code)
    client.post(f"/api/tasks/{task['id']}/claim", headers=token_for("caseworker1"))
    supervisor = sign_in(app, "supervisor1").get("/?scope=team").get_data(as_text=True)
    assert row_ids(supervisor) == [task["id"]] and "caseworker1" in supervisor
    caseworker = sign_in(app, "caseworker2").get("/?scope=team").get_data(as_text=True)
    assert "My team" not in caseworker  # falls back to the caseworker's own scope
    assert task["id"] not in row_ids(caseworker)


def test_the_inbox_is_paged(app, client, token_for):
    cw = token_for("caseworker1")
    for _ in range(53):
        _start_sample(client, cw)
    user = sign_in(app, "caseworker1")
    first = user.get("/").get_data(as_text=True)
    assert len(row_ids(first)) == 50 and "page 1 of 2" in first
    second = user.get("/?page=2").get_data(as_text=True)
    assert len(row_ids(second)) == 3
    assert not set(row_ids(first)) & set(row_ids(second))
    assert len(row_ids(user.get("/?page=99").get_data(as_text=True))) == 3  # past the end: the last page
    # filtered (counted by the page itself, not the navigation): the same pages, the same clamp
    filtered = [user.get(f"/?process=sample_intake&page={n}").get_data(as_text=True) for n in (1, 2, 99)]
    assert [len(row_ids(page)) for page in filtered] == [50, 3, 3]
    assert "page 1 of 2" in filtered[0] and "page 2 of 2" in filtered[1] and "page 2 of 2" in filtered[2]
    assert row_ids(filtered[1]) == row_ids(second) == row_ids(filtered[2])
    only_page = user.get("/?process=sample_intake&page=1&status=overdue").get_data(as_text=True)
    assert row_ids(only_page) == [] and "No tasks match these filters." in only_page
