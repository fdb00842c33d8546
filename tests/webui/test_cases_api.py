"""The case API of CONTRACT.md, and referrals driven to each end by the demo users
completing their inbox tasks through the task API.

Forms are filled the way the outside checks do: the CONTRACT fields (``eligible``,
``immediate_danger``, ``red_needs``/``yellow_needs``, ``vote``, ``closure_reason``) on
purpose, every other required field with a valid value read from the form's schema.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import clock
from engine.models import Timer
from engine.process import instances

T0 = dt.datetime(2026, 4, 6, 8, 0, tzinfo=dt.UTC)
REFERRAL = {"referral": {"source": "self-referral", "primary_concern": "left school to work", "referred_by": "mother"},
            "client": {"name": "Jonas Sample", "date_of_birth": "2012-02-03", "sex": "male"}}

# Variants of a route run on SQLite only (the suite stays fast); the backbone tests without
# this mark run on SQLite and PostgreSQL.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def fill(schema: dict, given: dict) -> dict:
    """Every required field not given: its default, else the first allowed value."""
    data = dict(given)
    for name in schema.get("required", []):
        if name in data:
            continue
        prop = schema["properties"][name]
        if "default" in prop:
            data[name] = prop["default"]
        elif "enum" in prop:
            data[name] = prop["enum"][0]
        elif prop.get("type") == "boolean":
            data[name] = True
        elif prop.get("type") == "array":
            data[name] = []
        else:
            data[name] = "filled in by the API test"
    return data


class Api:
    def __init__(self, client, token_for):
        self.client, self.token_for = client, token_for

    def get(self, user, url, status=200):
        resp = self.client.get(url, headers=self.token_for(user))
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()

    def post(self, user, url, body=None, status=200):
        resp = self.client.post(url, json=body, headers=self.token_for(user))
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()

    def refer(self, user="caseworker1") -> str:
        body = self.post(user, "/api/cases", REFERRAL, status=201)
        assert set(body) == {"case_code", "status", "process_instance_id"} and body["status"] == "O"
        return body["case_code"]

    def inbox(self, user, code, scope="mine"):
        return self.get(user, f"/api/tasks?scope={scope}&case_code={code}")["tasks"]

    def do(self, user, code, name, given=None):
        """Find ``name`` in the user's inbox (mine, else claimable: claim it), fill, submit."""
        tasks = [t for t in self.inbox(user, code) if t["name"] == name]
        if not tasks:
            tasks = [t for t in self.inbox(user, code, "claimable") if t["name"] == name]
            assert tasks, (user, name, [t["name"] for t in self.inbox(user, code)])
            self.post(user, f"/api/tasks/{tasks[0]['id']}/claim")
        task = self.get(user, f"/api/tasks/{tasks[0]['id']}")
        self.post(user, f"/api/tasks/{task['id']}/complete", {"data": fill(task["form"], given or {})})
        return task

    def case(self, user, code, status=200):
        return self.get(user, f"/api/cases/{code}", status)

    def committee_votes(self, code, vote="approve"):
        for member in ("committee1", "committee2", "director1", "supervisor1"):
            self.do(member, code, "cast_vote", {"vote": vote})

    def to_plan(self, code, needs):
        self.do("caseworker1", code, "screening", {"eligible": True, "immediate_danger": False})
        self.committee_votes(code)
        self.do("caseworker1", code, "consent_registration")
        self.do("caseworker1", code, "initial_assessment", needs)
        for name in ("interim_plan", "comprehensive_start", "comprehensive_assessment", "case_plan"):
            if any(t["name"] == name for t in self.inbox("caseworker1", code)):
                self.do("caseworker1", code, name)
        self.do("supervisor1", code, "approve_case_plan", {"vote": "approve"})


def _due(task) -> dt.datetime:
    return dt.datetime.fromisoformat(task["due_at"])


def test_post_cases_follows_the_contract(client, token_for):
    api = Api(client, token_for)
    code = api.refer()
    assert client.post("/api/cases", json=REFERRAL).status_code == 401
    refused = api.post("committee1", "/api/cases", REFERRAL, status=403)
    assert refused["error"] == "forbidden"
    bad = api.post("caseworker1", "/api/cases", {"referral": {"source": "ngo"}, "client": {}}, status=422)
    assert {"referral.primary_concern", "client.name"} <= set(bad["errors"])
    assert api.post("caseworker1", "/api/cases", {**REFERRAL, "extra": 1}, status=422)["error"] == "invalid"
    malformed = client.post("/api/cases", data="{not json", headers={**token_for("caseworker1"),
                                                                    "Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.get_json()["error"] == "bad_request"
    assert api.get("director1", "/api/cases")["cases"][0]["case_code"] == code


def test_case_list_and_file_are_need_to_know_and_lists_show_no_names(client, token_for):
    """R32: codes in lists; the name only for those who need it; others 403; unknown 404."""
    api = Api(client, token_for)
    code = api.refer()
    api.do("caseworker1", code, "screening", {"eligible": True, "immediate_danger": False})
    listing = api.get("caseworker1", "/api/cases")
    assert [c["case_code"] for c in listing["cases"]] == [code] and "Jonas" not in str(listing)
    assert api.case("caseworker1", code)["client"]["name"] == "Jonas Sample"
    committee_view = api.case("committee1", code)
    assert committee_view["client"] is None and "Jonas" not in str(committee_view)
    assert api.case("admin", code)["client"] is None
    assert api.case("caseworker2", code, status=403)["error"] == "forbidden"
    assert api.case("caseworker1", "CM-NONE-NONE", status=404)["error"] == "not_found"
    assert api.get("caseworker2", "/api/cases")["cases"] == []
    assert api.get("caseworker1", "/api/cases?status=ZZ", status=422)["error"] == "invalid"


@SQLITE_ONLY
def test_referral_driven_to_no_action_required(client, token_for):
    """R01 via the API: not eligible → inform and refer → closed, no case management."""
    api = Api(client, token_for)
    clock.freeze(T0)
    code = api.refer()
    api.do("caseworker2", code, "screening", {"eligible": False, "immediate_danger": False})
    task = api.do("caseworker2", code, "inform_and_refer")
    assert _due(task) == T0 + dt.timedelta(days=14)
    body = api.case("caseworker2", code)
    assert (body["status"], body["stage"], body["closure_reason"], body["open_tasks"]) == ("C", "no_action",
                                                                                           "not_eligible", [])


def test_referral_driven_to_closed_then_reopened(client, token_for):
    """R07, R12, R15, R17, R21-R24 via the API: high risk sets every due date; closure after
    review and authorisation; the post-closure visit reopens the case with a reassessment."""
    api = Api(client, token_for)
    clock.freeze(T0)
    code = api.refer()
    api.do("caseworker1", code, "screening", {"eligible": True, "immediate_danger": False})
    api.committee_votes(code)
    api.do("caseworker1", code, "consent_registration")
    body = api.case("caseworker1", code)
    assert (body["caseworker"], body["supervisor"]) == ("caseworker1", "supervisor1")
    (assessment,) = body["open_tasks"]
    assert _due(assessment) == T0 + dt.timedelta(hours=24)  # R07
    api.do("caseworker1", code, "initial_assessment", {"red_needs": ["child_labour"], "yellow_needs": []})
    mine = {t["name"]: t for t in api.inbox("caseworker1", code)}
    assert mine["comprehensive_start"]["priority"] == "high"  # CONTRACT: priority follows the risk level
    assert _due(mine["comprehensive_start"]) == T0 + dt.timedelta(days=7)  # R15
    for name in ("comprehensive_start", "comprehensive_assessment"):
        api.do("caseworker1", code, name)
    assert _due(api.do("caseworker1", code, "case_plan")) == T0 + dt.timedelta(days=14)  # R17
    api.do("supervisor1", code, "approve_case_plan", {"vote": "approve"})
    mine = {t["name"]: t for t in api.inbox("caseworker1", code)}
    assert _due(mine["immediate_action"]) == T0 + dt.timedelta(hours=48)  # R12, R43: from the rating
    assert _due(mine["follow_up"]) == T0 + dt.timedelta(days=1)  # R44: daily until the immediate action
    tracking = api.case("supervisor1", code)["tracking"]
    assert dt.datetime.fromisoformat(tracking["date_next_review"]) == T0 + dt.timedelta(days=30)  # R19

    api.do("caseworker1", code, "request_closure", {"closure_reason": "goals_met"})
    api.do("supervisor1", code, "closure_review", {"vote": "approve"})
    api.committee_votes(code)
    body = api.case("caseworker1", code)
    assert (body["status"], body["closure_reason"]) == ("C", "goals_met")
    (visit,) = body["open_tasks"]
    assert visit["name"] == "post_closure_visit" and _due(visit) == T0 + dt.timedelta(days=90)  # R23
    api.do("caseworker1", code, "post_closure_visit", {"situation": "concerns_reopen"})
    body = api.case("supervisor1", code)
    assert (body["status"], [t["name"] for t in body["open_tasks"]]) == ("O", ["initial_assessment"])
    assert body["tracking"]["date_reopened"] is not None


@SQLITE_ONLY
def test_referral_driven_to_transfer(client, token_for):
    """R25 via the API: consent and a handover plan, then closed as transferred."""
    api = Api(client, token_for)
    code = api.refer()
    api.to_plan(code, {"red_needs": [], "yellow_needs": ["disability"]})
    api.do("caseworker1", code, "request_closure", {"closure_reason": "transfer"})
    api.do("caseworker1", code, "transfer_consent")
    api.do("caseworker1", code, "handover_plan")
    api.do("supervisor1", code, "closure_review", {"vote": "approve"})
    api.committee_votes(code)
    body = api.case("supervisor1", code)
    assert (body["status"], body["closure_reason"], body["open_tasks"]) == ("C", "transfer", [])
    assert body["tracking"]["date_transferred"] is not None


@SQLITE_ONLY
def test_referral_driven_to_aged_out_and_closed_automatically(client, token_for, app):
    """R27 via the API: aged-out, transition plan, then the worker fires the 6-month timer."""
    api = Api(client, token_for)
    clock.freeze(T0)
    code = api.refer()
    api.to_plan(code, {"red_needs": [], "yellow_needs": ["disability"]})
    api.do("caseworker1", code, "request_closure", {"closure_reason": "aged_out"})
    assert api.case("caseworker1", code)["status"] == "AO"
    api.do("caseworker1", code, "transition_plan")
    ctx = app.extensions["engine_ctx"]
    with ctx.session_factory() as s:
        timer = s.scalar(select(Timer).where(Timer.bpmn_id == "auto_close_due", Timer.state == "pending"))
    assert timer.due_at == T0 + dt.timedelta(days=183)
    clock.freeze(timer.due_at)
    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, timer.id)
    body = api.case("caseworker1", code)
    assert (body["status"], body["closure_reason"]) == ("C", "aged_out")
    assert [t["name"] for t in body["open_tasks"]] == ["post_closure_visit"]


@SQLITE_ONLY
def test_case_actions_reassign_refer_and_reopen(client, token_for):
    """R29: the supervisor reassigns; R18: a referral needs consent to share (422 without)
    and its outcome is tracked; R24: a closed case is reopened by its supervisor."""
    api = Api(client, token_for)
    code = api.refer()
    api.to_plan(code, {"red_needs": [], "yellow_needs": ["disability"]})
    refused = api.post("caseworker1", f"/api/cases/{code}/reassign", {"caseworker": "caseworker2", "reason": "leave"},
                       status=403)
    assert refused["error"] == "forbidden"
    body = api.post("supervisor1", f"/api/cases/{code}/reassign", {"caseworker": "caseworker2", "reason": "leave"})
    assert body["caseworker"] == "caseworker2"
    assert {t["assignee"] for t in body["open_tasks"] if t["name"] == "request_closure"} == {"caseworker2"}

    no_consent = {"provider": "Legal aid", "service": "birth registration", "consent_to_share": False}
    bad = api.post("caseworker2", f"/api/cases/{code}/referrals", no_consent, status=422)
    assert "consent_to_share" in bad["errors"]
    made = api.post("caseworker2", f"/api/cases/{code}/referrals", {**no_consent, "consent_to_share": True},
                    status=201)
    assert (made["provider"], made["status"]) == ("Legal aid", "pending")
    api.do("caseworker2", code, "track_referral", {"referral_outcome": "completed"})
    assert api.case("caseworker2", code)["referrals"][0]["status"] == "completed"

    assert api.post("supervisor1", f"/api/cases/{code}/reopen", {"reason": "x"}, status=409)["error"] == "conflict"
    api.do("caseworker2", code, "request_closure", {"closure_reason": "goals_met"})
    api.do("supervisor1", code, "closure_review", {"vote": "approve"})
    api.committee_votes(code)
    reopened = api.post("supervisor1", f"/api/cases/{code}/reopen", {"reason": "new concerns from school"})
    assert reopened["status"] == "O"
    assert [t["name"] for t in reopened["open_tasks"]] == ["initial_assessment"]
