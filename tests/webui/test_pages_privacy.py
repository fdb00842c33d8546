"""R32: no page shows a client's name to someone who may not see it. Every page of the app
is walked as every demo user; the name appears only on a case file, and only for those the
engine lets read it."""
from __future__ import annotations

from tests.webui.test_pages_support import DISTINCTIVE_NAME, refer, sign_in, task_of

DEMO_USERS = ("caseworker1", "caseworker2", "supervisor1", "director1", "committee1", "committee2",
              "processowner1", "crisislead1", "admin")
SURNAME = DISTINCTIVE_NAME.split()[-1]


def _pages(app, case_codes, task_ids, model_ids) -> list[str]:
    """Every page: each parameterless GET page, every scope and filter, every case file,
    task page and model version page."""
    paths = []
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if "GET" in rule.methods and not rule.arguments and endpoint.startswith("pages_"):
            paths.append(rule.rule)
    paths += [f"/?scope={s}" for s in ("open", "mine", "claimable", "team")]
    paths += [f"/?case={c}" for c in case_codes]
    paths += [f"/cases/{c}" for c in case_codes] + [f"/tasks/{t}" for t in task_ids]
    paths += [f"/models/{m}" for m in model_ids]
    return sorted(set(paths))


def test_R32_no_page_leaks_a_client_name_to_a_user_who_may_not_see_it(app, client, token_for):
    screened = refer(client, token_for)
    waiting = refer(client, token_for, name="Quintessa Marblewhistle")
    screening = task_of(client, token_for("caseworker1"), screened)
    client.post(f"/api/tasks/{screening['id']}/claim", headers=token_for("caseworker1"))
    assert client.post(f"/api/tasks/{screening['id']}/complete", headers=token_for("caseworker1"),
                       json={"data": {"eligible": True, "immediate_danger": False}}).status_code == 200
    vote = task_of(client, token_for("committee1"), screened, scope="mine")
    client.post(f"/api/tasks/{vote['id']}/complete", headers=token_for("committee1"),
                json={"data": {"vote": "approve", "comment": "admit"}})
    task_ids = {t["id"] for u in DEMO_USERS for s in ("mine", "claimable")
                for t in client.get(f"/api/tasks?scope={s}", headers=token_for(u)).get_json()["tasks"]}
    task_ids.add(screening["id"])
    model_ids = [m["id"] for m in client.get("/api/process-models", headers=token_for("admin")).get_json()["models"]]

    pages = _pages(app, [screened, waiting], task_ids, model_ids[:3])
    shown_anywhere = 0
    for username in DEMO_USERS:
        may_read = set()
        for code in (screened, waiting):
            resp = client.get(f"/api/cases/{code}", headers=token_for(username))
            if resp.status_code == 200 and (resp.get_json().get("client") or {}).get("name"):
                may_read.add(f"/cases/{code}")
        browser = sign_in(app, username)
        for path in pages:
            resp = browser.get(path)
            assert resp.status_code < 500, (username, path, resp.status_code)
            html = resp.get_data(as_text=True)
            if SURNAME in html:
                assert path in may_read, f"{username} sees the client's name on {path}"
                shown_anywhere += 1
    assert shown_anywhere >= 2  # the walk did reach case files that show the name (the director's at least)
