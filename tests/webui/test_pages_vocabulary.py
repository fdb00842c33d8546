"""Words for people (issue 13): every page is walked as every demo user, with cases at many
steps (a referral being screened, a plan waiting for approval, referrals to follow up, a
closure under review, a crisis declared), and what they see must not hold a rule id
("R07"), a source reference ("(004 §6.2)"), a stored value or an element, process or
instance id ("community_member", "approve_case_plan", "process_instance 14", a task's
uuid) — nor a count that reads "1 cases" or "1 active cases". The stored values that are one
word ("O", "unrated", "approve", "screening") are looked for where a label belongs: a whole
table cell, definition, choice or badge ("O" where "Open" belongs), and the places in a
sentence that hold a value ("voted approve", "stage screening", "unrated → medium", "(O)").
The form texts a task page hands the form renderer as JSON are read too.

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
from engine.models.base import vocabularies, vocabulary
from engine.models.case import UNRATED
from tests.webui.test_crises_api import DECLARATION
from tests.webui.test_pages_support import schema_on, sign_in
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
# "1 cases", "1 active cases", "1 reviews due this week": one of something, said in the plural
# (any plural right after the number; after one or two words, the plural of a thing the pages count
# that is no verb too: "1 task needs you" is right)
ONE_MANY = re.compile(r"(?<![\d.,])\b1 (?:[a-z]+[^su\W]s|(?:(?!of\b|in\b|to\b|or\b|and\b)[a-z]+ ){1,2}"
                      r"(?:cases|tasks|items|people|entries|referrals|members|reviews|caseworkers|clients|"
                      r"conferences|days|hours|weeks|providers|users))\b")

# The one-word stored values of the vocabularies a case shows (its status, stage and risk, a vote,
# a conference's kind and outcome, a screening's result): where they differ from their label,
# each is a stored value when it stands where its label belongs.
SHOWN_BY_LABEL = ("case_status", "case_stage", "risk_level", "vote_choice", "conference_kind", "conference_outcome",
                  "no_action_reason", "plan_status", "review_outcome", "closure_status")
RAW_WORDS = frozenset({member.value for name in SHOWN_BY_LABEL for member in vocabulary(name)
                       if member.value != member.label} | {UNRATED})
STATUS_CODES = "|".join(sorted((member.value for member in vocabulary("case_status")), key=len, reverse=True))
_RAW = "|".join(sorted(RAW_WORDS, key=len, reverse=True))
RAW_IN_SENTENCE = re.compile(rf"(?:\bvoted |\bstage |\bstatus |→ )(?:{_RAW})\b|\b{UNRATED}\b|"
                             rf"\((?:{STATUS_CODES})\)")
# a risk badge writes its level's label in lower case ("high") on purpose: not looked for in a cell
RAW_IN_CELLS = RAW_WORDS - {member.value for member in vocabulary("risk_level")}
LABEL_PLACES = ("td", "dd", "option", "th")  # and badges: an element of class badge, flag or status


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


class _Places(HTMLParser):
    """Each shown element's whole text (its children's too, inline ones joined as a browser
    shows them: ``<span>1</span> active cases`` is "1 active cases"), with its tag and classes."""

    VOID = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, tuple[str, ...], list[str]]] = []
        self.places: list[tuple[str, tuple[str, ...], str]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append((tag, tuple((dict(attrs).get("class") or "").split()), []))

    def handle_endtag(self, tag):
        at = next((i for i in range(len(self.open) - 1, -1, -1) if self.open[i][0] == tag), None)
        if at is None:
            return
        for name, classes, parts in self.open[at:]:
            self.places.append((name, classes, " ".join("".join(parts).split())))
        del self.open[at:]

    def handle_data(self, data):
        if any(name in ("script", "style", "template") for name, _, _ in self.open):
            return
        for _, _, parts in self.open:
            parts.append(data)


def places(html: str) -> list[tuple[str, tuple[str, ...], str]]:
    parser = _Places()
    parser.feed(html)
    return parser.places


def raw_in_places(html: str) -> list[str]:
    """Stored values where their label belongs: a whole cell, definition, choice or badge
    ("O", "unrated"), and the counts of the page's elements that read "1 active cases"."""
    found = set()
    for tag, classes, text in places(html):
        badge = {"badge", "flag", "status"} & set(classes)
        if text in RAW_IN_CELLS and (tag in LABEL_PLACES or badge):
            found.add(f"stored value {text!r} in a {tag}{'.' + '.'.join(classes) if classes else ''}")
        for match in ONE_MANY.finditer(text):
            found.add(f"count {match.group(0)!r} in …{text[:80]}…")
    return sorted(found)


def form_texts(schema) -> list[str]:
    """The words the form renderer shows from a task's form: titles, descriptions, choices'
    titles and the choices themselves where no titles are given."""
    texts: list[str] = []
    if isinstance(schema, dict):
        options = schema.get("options") or {}
        texts += [schema[key] for key in ("title", "description") if isinstance(schema.get(key), str)]
        texts += [str(title) for title in options.get("enum_titles") or []]
        if schema.get("enum") and not options.get("enum_titles"):
            texts += [str(value) for value in schema["enum"]]
        for key, value in schema.items():
            if key in ("properties", "definitions", "$defs"):
                for sub in (value or {}).values():
                    texts += form_texts(sub)
            elif key in ("items", "oneOf", "anyOf", "allOf", "then", "else", "if"):
                for sub in (value if isinstance(value, list) else [value]):
                    texts += form_texts(sub)
    return texts


def what_is_wrong(text: str) -> list[str]:
    """What in ``text`` is not for people, each with a little of its context."""
    found = []
    for name, pattern in (("rule id", RULE_ID), ("source reference", SOURCE_REF), ("stored value or id", SNAKE),
                          ("task id", UUID), ("instance id", INSTANCE), ("count", ONE_MANY),
                          ("stored value", RAW_IN_SENTENCE)):
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 40):match.end() + 20].replace("\n", " / ")
            found.append(f"{name} {match.group(0)!r} in …{context}…")
    return found


def _cases(ctx, driver: CaseDriver | None = None) -> list[str]:
    """Cases at the steps where people decide: screening, plan approval, referral outcomes
    and follow-up, closure review (made by ``driver``, one with its own frozen clock if none)."""
    d = driver or CaseDriver(ctx)
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
        shown = [*what_is_wrong(visible_text(html)), *raw_in_places(html)]
        if 'id="form-schema"' in html:
            shown += [f"form text: {problem}" for text in form_texts(schema_on(html))
                      for problem in what_is_wrong(text)]
        for problem in shown:
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
    assert what_is_wrong("1 active cases") and what_is_wrong("1 reviews due this week")
    assert what_is_wrong("1 providers") and what_is_wrong("1 overdue tasks")
    assert what_is_wrong("supervisor1 voted approve (admission conference)")
    assert what_is_wrong("stage screening → admission") and what_is_wrong("risk level unrated → medium")
    assert what_is_wrong("Open (O) · stage Case planning")
    assert not what_is_wrong("Referred by a community member · 2 cases · Case CM-8VJQ-6Y7E · Risk: high")
    assert not what_is_wrong("supervisor1 voted to approve · Stage: Screening → Admission · 1 of 4 votes · 1 case")
    assert not what_is_wrong("1 status · 1 process · 1 class · 1 task needs you")
    assert visible_text("<p>Shown</p><script>var approve_case_plan = 1</script>") == "Shown"
    assert raw_in_places('<div class="card"><span class="number">1</span> active cases</div>')
    assert raw_in_places("<table><tr><td>O</td><td>unrated</td></tr></table>")
    assert raw_in_places('<p><span class="badge">approve</span></p>')
    assert not raw_in_places('<table><tr><td>Open</td><td><span class="risk risk-high">high</span></td></tr></table>'
                             '<p>The case is open and approved</p><table><tr><td>1</td><td>tasks</td></tr></table>')
    assert what_is_wrong(form_texts({"properties": {"vote": {"title": "Vote", "enum": ["approve", "ask_again"]}}})[-1])


def test_every_stored_value_has_a_label_that_is_words():
    for name, words in vocabularies().items():
        for member in words:
            assert member.label and not SNAKE.search(member.label), (name, member.value, member.label)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_dashboard_counts_one_of_a_thing_in_the_singular(app):
    driver = CaseDriver(app.extensions["engine_ctx"])
    driver.to_registered(driver.refer())
    html = sign_in(app, "supervisor1").get("/dashboard").get_data(as_text=True)
    cards = [text for tag, classes, text in places(html) if "card" in classes]
    assert "1 active case" in cards and "0 overdue tasks" in cards, cards


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_date_the_system_fills_in_on_a_task_reads_as_every_other_day(app):
    driver = CaseDriver(app.extensions["engine_ctx"])
    task = driver.task(driver.refer(), "screening")
    html = sign_in(app, "caseworker1").get(f"/tasks/{task.id}").get_data(as_text=True)
    box = html.split('class="facts form-header"')[1].split("</dl>")[0]
    assert driver.now.strftime("%d %b %Y") in box and driver.now.date().isoformat() not in visible_text(box)
