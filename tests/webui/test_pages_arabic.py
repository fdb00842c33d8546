"""Every page in Arabic (issue 15): an Arabic-speaking caseworker, supervisor, committee
member and crisis-team member walk every page they open — cases at many steps, a crisis
declared and its fan-out run (crisis checks, the message to each person with checks) — and no
text node they read is left in English (scripts, styles and attribute values aside). What may
stay in Latin letters: case codes, people's names and usernames, e-mail addresses, numbers and
dates, what the walk itself typed in (people's own words are not translated), and a short list of abbreviations
that are the same in Arabic (``ALLOWED``). The page walk is ``test_pages_vocabulary``'s."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.models import User
from engine.models.ops import Notification
from tests.webui.test_crises_api import DECLARATION
from tests.webui.test_pages_vocabulary import REFERRALS, _cases, _one_task_per_form, _pages, _walk, visible_text
from tests.workflows import case_driver

WALKERS = ("caseworker1", "caseworker2", "supervisor1", "committee1", "crisislead1")  # caseworker2: the crisis checks
# the same in Arabic text: formats, codes, the plan's name, keys, the language's own name
ALLOWED = frozenset({"PDF", "SMS", "BPMN", "JSON", "CSV", "UTC", "CBF", "Ctrl", "IA", "AO", "English"})
CASE_CODE = re.compile(r"\bCM-[A-Z0-9]{4}-[A-Z0-9]{4}\b")
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
TYPED = (case_driver.REFERRAL, case_driver.CLIENT, case_driver.PLAN, case_driver.FIRST_ACTION, DECLARATION,
         *REFERRALS, {"concern": "child begging", "summary": "back at school"})


def _typed_words() -> list[str]:
    """What the walk typed in, longest first (so a phrase goes before a word of it)."""
    words = {value for data in TYPED for value in data.values() if isinstance(value, str) and " " in value}
    return sorted(words, key=len, reverse=True)


def english_left(text: str, names: list[str]) -> list[str]:
    """The lines of ``text`` with English words left once codes, names, e-mail addresses
    and ``names`` (people's names, what was typed) are taken out."""
    found = []
    for line in text.split("\n"):
        rest = EMAIL.sub(" ", CASE_CODE.sub(" ", line))
        for name in names:
            rest = rest.replace(name, " ")
        if any(word not in ALLOWED for word in LATIN_WORD.findall(rest)):
            found.append(line)
    return found


def _fan_out(app) -> None:
    """Let the task queue run the declaration's fan-out: crisis checks, and the message to
    each person who has some."""
    queue = app.extensions["task_queue"]
    queue.start_worker(threads=1, periodic=False)
    queue.relay.drain()

    def told() -> bool:
        with app.extensions["engine_ctx"].session_factory() as session:
            told = select(Notification.id).where(Notification.kind == "crisis_checks").limit(1)
            return session.scalar(told) is not None
    assert queue.wait_for(told, timeout_s=30)


def _speak_arabic(ctx) -> list[str]:
    """Every user chooses Arabic; their names and usernames, longest first."""
    with ctx.session_factory() as session:
        names = set()
        for user in session.scalars(select(User)):
            user.locale = "ar"
            names |= {user.username, user.display_name or user.username}
        session.commit()
    return sorted(names, key=len, reverse=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_page_an_arabic_speaking_team_opens_has_english_left(app, client, token_for):
    ctx = app.extensions["engine_ctx"]
    votes = [f"{member} approves" for member in case_driver.COMMITTEE]  # what the members typed with their votes
    names = votes + _speak_arabic(ctx) + _typed_words()
    case_codes = _cases(ctx)
    crisis = client.post("/api/crises", json=DECLARATION, headers=token_for("crisislead1"))
    assert crisis.status_code == 201, crisis.get_json()
    _fan_out(app)
    pages = _pages(app, case_codes, _one_task_per_form(ctx), [crisis.get_json()["id"]])

    found: dict[str, set[str]] = {}
    seen = 0
    for username, path, html in _walk(app, WALKERS, pages):
        seen += 1
        for line in english_left(visible_text(html, attributes=False), names):
            found.setdefault(line, set()).add(f"{username} {path}")
    assert seen > 40
    report = [f"{line!r} on {len(where)} pages, e.g. {sorted(where)[0]}" for line, where in sorted(found.items())]
    assert not report, f"{len(report)} texts in English:\n" + "\n".join(report[:40])


def test_the_check_finds_english_and_lets_codes_names_and_typed_words_be():
    names = ["Caseworker One", "caseworker1", "back to school"]
    assert english_left("المهمة · Follow-up contact", names)
    assert english_left("02 مارس 2026 · New task", names)
    assert not english_left("الحالة CM-7QXR-2KPM · Caseworker One (caseworker1) · بصيغة PDF", names)
    assert not english_left("الأهداف: back to school · a@b.org · 09:00 · T+24", names)
