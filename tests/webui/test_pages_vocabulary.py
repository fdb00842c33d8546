"""Words for people (issue 13): every page is walked as every demo user, with cases at many
steps (a referral being screened, a plan waiting for approval, referrals to follow up, a
closure under review, a crisis declared), and what they see must not hold a rule id
("R07"), a source reference ("(004 §6.2)"), a stored value or an element, process or
instance id ("community_member", "approve_case_plan", "process_instance 14", a task's
uuid) — nor a count that reads "1 cases".

The process owners' and administrators' pages keep them (they model the processes and
read rule ids and element ids on purpose): those pages are not walked for this.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import url_for
from sqlalchemy import select

from engine.models import HumanTask
from engine.models.base import vocabularies
from tests.webui.test_crises_api import DECLARATION
from tests.webui.test_pages_support import sign_in
from tests.workflows.case_driver import CaseDriver

DEMO_USERS = ("caseworker1", "caseworker2", "supervisor1", "director1", "committee1", "committee2",
              "processowner1", "crisislead1", "admin")
FOR_PROCESS_OWNERS = ("pages_models.", "pages_admin.")  # endpoints whose pages keep ids on purpose
REFERRALS = [{"provider": "Legal Aid Clinic", "service": "birth registration", "consent_to_share": True}]

RULE_ID = re.compile(r"\bR\d\d\b")
SOURCE_REF = re.compile(r"\(\d{3}\s*§|§\s*\d")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
INSTANCE = re.compile(r"\b(?:process[ _])?instance[ #]\d+", re.IGNORECASE)
ONE_MANY = re.compile(r"\b1 (?:cases|tasks|items|people|entries|notes|referrals|members|votes)\b")


class _VisibleText(HTMLParser):
    """The text a person reads: text nodes outside scripts and styles, and (unless
    ``attributes`` is false) the attributes a browser shows or reads aloud (title,
    placeholder, alt, aria-label)."""

    SHOWN_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")

    def __init__(self, attributes: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._attributes = attributes

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if self._attributes and name in self.SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str, attributes: bool = True) -> str:
    parser = _VisibleText(attributes)
    parser.feed(html)
    return "\n".join(parser.parts)


def what_is_wrong(text: str) -> list[str]:
    """What in ``text`` is not for people, each with a little of its context."""
    found = []
    for name, pattern in (("rule id", RULE_ID), ("source reference", SOURCE_REF), ("stored value or id", SNAKE),
                          ("task id", UUID), ("instance id", INSTANCE), ("count", ONE_MANY)):
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 40):match.end() + 20].replace("\n", " / ")
            found.append(f"{name} {match.group(0)!r} in …{context}…")
    return found


def _cases(ctx) -> list[str]:
    """Cases at the steps where people decide: screening, plan approval, referral outcomes
    and follow-up, closure review."""
    d = CaseDriver(ctx)
    screening = d.refer()
    referred_by_community = d.refer(referral={"source": "community_member", "primary_concern": "child begging"})
    planned = d.refer()
    d.to_registered(planned)
    d.assess(planned)
    d.do(planned, "case_plan", {"goals": "back to school", "actions": "enrol; weekly visits",
                                "agreed_with_client": True, "referrals": REFERRALS})
    in_force = d.refer()
    d.to_registered(in_force)
    d.assess_and_plan(in_force)
    d.do(in_force, "request_closure", {"closure_reason": "goals_met", "closure_summary": "back at school"})
    return [screening, referred_by_community, planned, in_force]


def _pages(app, case_codes: list[str], task_ids: list[str], crisis_ids: list[int]) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.endpoint.startswith("pages_"):
            continue
        if rule.endpoint.startswith(FOR_PROCESS_OWNERS):
            continue
        arguments = set(rule.arguments)
        values: list = [None] if not arguments else []
        if arguments == {"code"}:
            values = [{"code": c} for c in case_codes]
        elif arguments == {"task_id"}:
            values = [{"task_id": t} for t in task_ids]
        elif arguments == {"crisis_id"}:
            values = [{"crisis_id": c} for c in crisis_ids]
        for value in values:
            with app.test_request_context():
                paths.append(url_for(rule.endpoint, **(value or {})))
    paths += [f"/?scope={s}" for s in ("open", "mine", "claimable", "team")]
    return sorted(set(paths))


def _one_task_per_form(ctx) -> list[str]:
    """One open task of each form (and of each referral: their outcome forms read differently)."""
    with ctx.session_factory() as session:
        ready = session.execute(select(HumanTask.id, HumanTask.form, HumanTask.title)
                                .where(HumanTask.state == "ready").order_by(HumanTask.id))
        return list({(row.form, row.title if row.form == "case_referral_outcome.json" else ""): row.id
                     for row in ready}.values())


def _walk(app, usernames, pages: list[str]):
    """(username, path, html) of every page each user may open (an HTML 200); none answers 5xx."""
    for username in usernames:
        browser = sign_in(app, username)
        for path in pages:
            resp = browser.get(path)
            assert resp.status_code < 500, (username, path, resp.status_code)
            if resp.status_code == 200 and resp.mimetype == "text/html":
                yield username, path, resp.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_page_for_caseworkers_supervisors_committee_or_crisis_team_shows_ids_or_stored_values(
        app, client, token_for):
    ctx = app.extensions["engine_ctx"]
    case_codes = _cases(ctx)
    crisis = client.post("/api/crises", json=DECLARATION, headers=token_for("crisislead1"))
    assert crisis.status_code == 201, crisis.get_json()
    pages = _pages(app, case_codes, _one_task_per_form(ctx), [crisis.get_json()["id"]])
    assert len(pages) > 20

    problems: dict[str, list[str]] = {}
    seen = 0
    for username, path, html in _walk(app, DEMO_USERS, pages):
        seen += 1
        for problem in what_is_wrong(visible_text(html)):
            problems.setdefault(problem.split(" in …")[0], []).append(f"{username} {path}: {problem}")
    assert seen > 100  # the walk reached pages, not only refusals
    report = [f"{kind} on {len(set(where))} pages, e.g. {sorted(set(where))[0]}"
              for kind, where in sorted(problems.items())]
    assert not report, "\n".join(report)


def test_the_checks_catch_what_they_are_for():
    assert what_is_wrong("Screening (R07) within 48 hours")
    assert what_is_wrong("Consent (004 §6.2) recorded")
    assert what_is_wrong("Referred by community_member")
    assert what_is_wrong("Opened from process_instance 14")
    assert what_is_wrong("Task 1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    assert what_is_wrong("1 cases touched")
    assert not what_is_wrong("Referred by a community member · 2 cases · Case CM-8VJQ-6Y7E · Risk: high")
    assert visible_text("<p>Shown</p><script>var approve_case_plan = 1</script>") == "Shown"


def test_every_stored_value_has_a_label_that_is_words():
    for name, words in vocabularies().items():
        for member in words:
            assert member.label and not SNAKE.search(member.label), (name, member.value, member.label)
