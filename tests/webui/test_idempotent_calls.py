"""Every state-changing API call accepts an ``Idempotency-Key`` (issue 18), and once its
change committed no error takes the place of its answer: a retry after an ambiguous
failure never makes a second change."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from engine import clock
from engine.infra.unit_of_work import UnitOfWork
from engine.models import Case, HumanTask
from engine.models.ops import IdempotencyKey
from engine.service_ops import idempotency
from webui import idempotency as web_idempotency
from webui.api import tasks as tasks_api

NEEDS = {"red_needs": ["child_at_risk"], "yellow_needs": [], "summary": "checked on the family"}
REFERRAL = {"referral": {"source": "school", "primary_concern": "neglect"}, "client": {"name": "Test Child"}}
# calls that change nothing a repeat could duplicate, or that must never store their answer
EXEMPT = {
    "auth.token": "a sign-in answers a bearer token, which must never be stored; a repeat only signs in again",
    "auth.logout": "ending a token twice changes nothing more",
    "auth.change_password": "the answer is empty and a repeat is refused (the old password no longer matches)",
    "decisions.suggest_risk_level": "a computation: it changes nothing",
}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def lost_connection(*_args, **_kwargs):
    raise OperationalError("SELECT ...", {}, Exception("terminating connection due to administrator command"))


def ready_task(client, headers) -> str:
    started = client.post("/api/processes/sample_intake/instances", json={"data": {}}, headers=headers).get_json()
    tasks = client.get("/api/tasks?scope=claimable", headers=headers).get_json()["tasks"]
    task_id = next(t["id"] for t in tasks if t["instance_id"] == started["id"])
    assert client.post(f"/api/tasks/{task_id}/claim", headers=headers).status_code == 200
    return task_id


def complete(client, headers, task_id: str, key: str | None, data: dict = NEEDS):
    extra = {} if key is None else {"Idempotency-Key": key}
    return client.post(f"/api/tasks/{task_id}/complete", json={"data": data}, headers={**headers, **extra})


def task_state(app, task_id: str) -> str:
    with app.extensions["engine_ctx"].session_factory() as s:
        return s.get(HumanTask, task_id).state


def test_every_state_changing_api_call_accepts_an_idempotency_key(app):
    undecorated = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or not (rule.methods or set()) & STATE_CHANGING:
            continue
        view = app.view_functions[rule.endpoint]
        if rule.endpoint not in EXEMPT and not hasattr(view, "idempotency_operation"):
            undecorated.append(f"{sorted((rule.methods or set()) & STATE_CHANGING)} {rule.rule} ({rule.endpoint})")
    assert undecorated == []


def test_a_completion_sent_twice_with_one_key_completes_once_and_answers_the_same(app, client, token_for):
    cw = token_for("caseworker1")
    task_id = ready_task(client, cw)
    first = complete(client, cw, task_id, "done-0001")
    again = complete(client, cw, task_id, "done-0001")
    assert first.status_code == again.status_code == 200  # without the key the repeat would be a 409
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert complete(client, cw, task_id, None).status_code == 409
    other = ready_task(client, cw)
    refused = complete(client, cw, other, "done-0001")  # the key names the first request, not this one
    assert refused.status_code == 422 and "Idempotency-Key" in refused.get_json()["errors"]
    assert task_state(app, other) == "ready"


def test_a_request_that_changed_nothing_leaves_its_key_free(app, client, token_for):
    cw = token_for("caseworker1")
    task_id = ready_task(client, cw)
    invalid = complete(client, cw, task_id, "fix-and-resend", {"red_needs": 5})
    assert invalid.status_code == 422 and task_state(app, task_id) == "ready"
    fixed = complete(client, cw, task_id, "fix-and-resend")
    assert fixed.status_code == 200 and "Idempotent-Replayed" not in fixed.headers
    assert task_state(app, task_id) == "completed"


def test_while_the_first_request_with_a_key_runs_a_repeat_is_told_to_wait(app, client, token_for):
    cw = token_for("caseworker1")
    task_id = ready_task(client, cw)
    ctx = app.extensions["engine_ctx"]
    with app.test_request_context(f"/api/tasks/{task_id}/complete", method="POST", json={"data": NEEDS}):
        keyed = idempotency.keyed(user_id_of(app, "caseworker1"), "complete_task", "slow-one",
                                  web_idempotency._request_digest())
    with ctx.uow() as uow:
        assert idempotency.claim(uow, keyed).claim is not None  # the first request holds the key now
    busy = complete(client, cw, task_id, "slow-one")
    assert busy.status_code == 409 and task_state(app, task_id) == "ready"
    clock.freeze(clock.now() + idempotency.CLAIM_STALE + dt.timedelta(seconds=1))
    taken_over = complete(client, cw, task_id, "slow-one")  # that request died before changing anything
    assert taken_over.status_code == 200 and task_state(app, task_id) == "completed"


def user_id_of(app, username: str) -> int:
    from engine.models import User
    with app.extensions["engine_ctx"].session_factory() as s:
        return s.scalar(select(User.id).where(User.username == username))


@pytest.mark.parametrize("key", ["lost-answer", None], ids=["with a key", "without a key"])
def test_a_connection_lost_after_the_commit_answers_applied_never_an_error(app, client, token_for, monkeypatch, key):
    cw = token_for("caseworker1")
    task_id = ready_task(client, cw)
    monkeypatch.setattr(tasks_api, "username_of", lost_connection)  # the view names the assignee after the commit
    answer = complete(client, cw, task_id, key)
    assert answer.status_code == 202 and answer.get_json()["applied"] is True
    assert task_state(app, task_id) == "completed"
    if key is not None:
        repeat = complete(client, cw, task_id, key)
        assert repeat.status_code == 202 and repeat.headers["Idempotent-Replayed"] == "true"


def test_a_connection_lost_before_the_commit_is_503_with_retry_after_and_the_retry_runs(
        app, client, token_for, monkeypatch):
    cw = token_for("caseworker1")
    task_id = ready_task(client, cw)
    monkeypatch.setattr(tasks_api.human_tasks, "complete_task", lost_connection)
    failed = complete(client, cw, task_id, "retry-me")
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    assert task_state(app, task_id) == "ready"
    monkeypatch.undo()
    retried = complete(client, cw, task_id, "retry-me")
    assert retried.status_code == 200 and task_state(app, task_id) == "completed"


def test_a_commit_that_failed_on_the_way_but_landed_is_not_made_again(app, client, token_for, monkeypatch):
    """The connection died while COMMIT was on its way: the server committed, the app saw
    an error and never heard back. The change's own transaction stamped the key, so the
    app finds out, answers "applied", and a repeat changes nothing."""
    cw = token_for("caseworker1")
    task_id = ready_task(client, cw)
    original = UnitOfWork.commit

    def commit_then_lose_the_reply(self):
        original(self)
        call = web_idempotency._call.get()
        if call is not None:  # the view's change (not the sign-in check before it)
            call.committed = False  # as if the server's acknowledgement never arrived
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(UnitOfWork, "commit", commit_then_lose_the_reply)
    answer = complete(client, cw, task_id, "ambiguous")
    monkeypatch.undo()
    assert answer.status_code == 202 and task_state(app, task_id) == "completed"
    assert complete(client, cw, task_id, "ambiguous").status_code == 202


def test_a_referral_whose_commit_landed_although_it_failed_answers_its_case(app, client, token_for, monkeypatch):
    cw = token_for("caseworker1")
    original = UnitOfWork.commit

    def commit_then_lose_the_reply(self):
        original(self)
        if web_idempotency._call.get() is not None:  # the referral's commit (not the sign-in check)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(UnitOfWork, "commit", commit_then_lose_the_reply)
    first = client.post("/api/cases", json=REFERRAL, headers={**cw, "Idempotency-Key": "referral-ambiguous"})
    monkeypatch.undo()
    assert first.status_code == 201 and first.get_json()["case_code"]
    again = client.post("/api/cases", json=REFERRAL, headers={**cw, "Idempotency-Key": "referral-ambiguous"})
    assert again.get_json()["case_code"] == first.get_json()["case_code"]
    with app.extensions["engine_ctx"].session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1


def test_expired_answers_are_forgotten(app, client, token_for):
    cw = token_for("caseworker1")
    complete(client, cw, ready_task(client, cw), "old-answer")
    ctx = app.extensions["engine_ctx"]
    clock.freeze(clock.now() + idempotency.KEPT_FOR + dt.timedelta(minutes=1))
    with ctx.uow() as uow:
        assert idempotency.forget_expired(uow) == 1
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
