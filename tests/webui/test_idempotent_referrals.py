"""``POST /api/cases`` with an ``Idempotency-Key``: a referral sent twice (a retry after a
lost answer, a double click, two tabs) is one case (R05: one child, one case code), also
when the two copies arrive at the same moment."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.models import Case, ProcessInstance
from engine.service_ops import idempotency

REFERRAL = {"referral": {"source": "school", "primary_concern": "neglect"}, "client": {"name": "Test Child"}}
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def refer(client, headers, key: str | None, body: dict = REFERRAL):
    extra = {} if key is None else {"Idempotency-Key": key}
    return client.post("/api/cases", json=body, headers={**headers, **extra})


def counts(app) -> tuple[int, int]:
    with app.extensions["engine_ctx"].session_factory() as session:
        return (session.scalar(select(func.count()).select_from(Case)),
                session.scalar(select(func.count()).where(ProcessInstance.process_id == "case_management")))


def test_the_same_key_gives_the_first_answer_and_creates_nothing_more(app, client, token_for):
    cw = token_for("caseworker1")
    first = refer(client, cw, "referral-0001")
    again = refer(client, cw, "referral-0001")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert counts(app) == (1, 1)
    assert refer(client, cw, "referral-0002").get_json()["case_code"] != first.get_json()["case_code"]
    assert counts(app) == (2, 2)


def test_without_a_key_every_referral_is_a_new_case(app, client, token_for):
    cw = token_for("caseworker1")
    assert refer(client, cw, None).get_json()["case_code"] != refer(client, cw, None).get_json()["case_code"]
    assert counts(app) == (2, 2)


def test_a_key_belongs_to_the_person_who_sent_it(app, client, token_for):
    mine = refer(client, token_for("caseworker1"), "shared-key").get_json()
    theirs = refer(client, token_for("caseworker2"), "shared-key").get_json()
    assert mine["case_code"] != theirs["case_code"] and counts(app) == (2, 2)


def test_the_same_key_with_another_referral_is_refused(app, client, token_for):
    cw = token_for("caseworker1")
    refer(client, cw, "referral-0001")
    other = {**REFERRAL, "client": {"name": "Another Child"}}
    resp = refer(client, cw, "referral-0001", other)
    assert resp.status_code == 422 and "Idempotency-Key" in resp.get_json()["errors"]
    assert counts(app) == (1, 1)


@pytest.mark.parametrize("key", ["", " ", "k" * (idempotency.KEY_MAX + 1)], ids=["empty", "blank", "too long"])
def test_a_malformed_key_is_a_bad_request_and_creates_nothing(app, client, token_for, key):
    resp = refer(client, token_for("caseworker1"), key)
    assert resp.status_code == 400 and resp.get_json()["error"] == "bad_request"
    assert counts(app) == (0, 0)


def test_a_key_is_kept_for_24_hours_then_may_be_used_again(app, client, token_for):
    cw = token_for("caseworker1")
    clock.freeze(T0)
    first = refer(client, cw, "daily-key").get_json()
    clock.freeze(T0 + dt.timedelta(hours=23, minutes=59))
    assert refer(client, cw, "daily-key").get_json() == first
    clock.freeze(T0 + dt.timedelta(hours=24, minutes=1))
    later = refer(client, cw, "daily-key")
    assert later.status_code == 201 and later.get_json()["case_code"] != first["case_code"]
    assert counts(app) == (2, 2)


def test_concurrent_duplicates_give_one_case_per_key(app, token_for, backend, monkeypatch):
    """5 referrals each sent twice at the same moment: 5 cases, each pair one answer."""
    if backend != "postgres":
        pytest.skip("needs concurrent writers")
    headers = token_for("caseworker1")
    senders = 10
    both_looked = threading.Barrier(senders, timeout=30)
    original = idempotency.recall
    seen = threading.local()

    def recall_then_wait(session, request):
        answer = original(session, request)
        if not getattr(seen, "waited", False):  # everyone has found no answer before anyone inserts
            seen.waited = True
            both_looked.wait()
        return answer

    monkeypatch.setattr(idempotency, "recall", recall_then_wait)
    answers: list = [None] * senders

    def send(i: int) -> None:
        resp = refer(app.test_client(), headers, f"pair-{i // 2}")
        answers[i] = (resp.status_code, resp.get_json().get("case_code"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [status for status, _ in answers] == [201] * senders
    for pair in range(5):
        assert answers[2 * pair][1] == answers[2 * pair + 1][1]
    assert len({code for _, code in answers}) == 5
    assert counts(app) == (5, 5)
