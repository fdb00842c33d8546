"""The pages people open all day run as many statements for 55 cases, tasks and process
models as for 5 (issue 16, item 6): what a page lists comes in one query, never one per row
(the case list counts its cases only when they run past its page).

Rows are added straight to the tables (cases of caseworker1 under supervisor1, their ready
tasks — held, offered, overdue, due this week —, committee votes waiting with their conferences
and others' votes, deployed processes with a decision table each), then one request of each
page is counted with SQLAlchemy's ``before_cursor_execute``; the page must show the new rows.
How fast the pages stay at 100,000 cases is bench/scale.py's to say.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from sqlalchemy import event, select

from engine import clock
from engine.models import Case, CaseStage, HumanTask, ProcessInstance, ProcessModel, ProcessModelFile, User
from engine.models.case_decisions import Conference, Vote
from tests.webui.test_pages_support import sign_in

PAGES = (("caseworker1", "/"), ("caseworker1", "/cases"), ("supervisor1", "/dashboard"),
         ("committee1", "/committee"))
# statements one request runs in the steady state (sign-in, navigation counts and the page itself);
# /dashboard 33: a supervisor's count of the team's late tasks comes with the navigation's other counts
CEILING = {"/": 28, "/cases": 23, "/dashboard": 33, "/committee": 33}
_serial = itertools.count(1)
DMN = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d{n}" name="d{n}" '
       'namespace="x"><decision id="unused_{n}" name="Unused"/></definitions>')


def _add_rows(app, count: int) -> list[str]:
    """``count`` more of everything the four pages list; the new case codes."""
    ctx = app.extensions["engine_ctx"]
    now = clock.now()
    with ctx.uow() as uow:
        session = uow.session
        ids = dict(session.execute(select(User.username, User.id)).all())
        base = session.scalars(select(ProcessInstance).order_by(ProcessInstance.id).limit(1)).one()
        codes = []
        for i in range(count):
            n = next(_serial)
            code = f"CM-B{n:05d}"
            codes.append(code)
            case = Case(code=code, status="O", stage=CaseStage.SCREENING.value, risk_level=("low", "high")[i % 2],
                        caseworker_id=ids["caseworker1"], supervisor_id=ids["supervisor1"], primary_concern="budget",
                        referral_source="community", confidential_notes="never listed", created_at=now,
                        updated_at=now + dt.timedelta(minutes=n), date_next_review=now + dt.timedelta(days=2),
                        urgent_since=now if i % 5 == 0 else None, urgent_reason="missed" if i % 5 == 0 else None)
            instance = ProcessInstance(model_id=base.model_id, process_id=base.process_id, case_code=code,
                                       state_json=base.state_json)
            session.add_all([case, instance])
            session.flush()

            def task(suffix: str, role: str, holder: str | None, due: dt.timedelta | None,
                     inst=instance, code=code, n=n):
                return HumanTask(id=f"budget{n:05d}{suffix}", instance_id=inst.id, case_code=code,
                                 process_id=base.process_id, bpmn_id="follow_up", name="follow_up",
                                 title="Follow up with the person", role=role,
                                 assignee_id=ids[holder] if holder else None, state="ready", created_at=now,
                                 due_at=now + due if due is not None else None, priority=1, risk_level="low",
                                 form="sample_follow_up.json")
            session.add_all([task("late", "caseworker", "caseworker1", dt.timedelta(days=-1)),
                             task("week", "caseworker", "caseworker1", dt.timedelta(days=3)),
                             task("offer", "caseworker", None, None),
                             task("vote", "committee_member", None, dt.timedelta(days=1))])
            conference = Conference(case_id=case.id, instance_id=instance.id, kind="admission",
                                    member_ids_json=json.dumps([ids["committee1"], ids["committee2"]]), opened_at=now)
            session.add(conference)
            session.flush()
            session.add(Vote(conference_id=conference.id, case_id=case.id, member_id=ids["committee2"], vote="approve",
                             at=now))
            model = ProcessModel(process_id=f"budget_process_{n}", name=f"Budget process {n}", version=1,
                                 content_hash=f"budget{n:058d}", spec_json="", runnable=False)
            model.files = [ProcessModelFile(filename=f"budget_{n}.dmn", kind="dmn", content=DMN.format(n=n))]
            session.add(model)
        uow.commit()
    return codes


def _statements(app, username: str, path: str) -> tuple[list[str], str]:
    client = sign_in(app, username)
    assert client.get(path).status_code == 200  # the caches of the process (forms, tables) are warm
    engine = app.extensions["engine_ctx"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return seen, response.get_data(as_text=True)


def _case_counts(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT count(*)") and " FROM cases" in s]


@pytest.mark.parametrize(("username", "path"), PAGES)
def test_a_page_runs_as_many_statements_for_55_rows_as_for_5(app, client, token_for, username, path):
    started = client.post("/api/processes/sample_intake/instances", json={}, headers=token_for("caseworker1"))
    assert started.status_code == 201, started.get_json()  # the instance the added rows copy
    first_codes = _add_rows(app, 5)
    few, few_html = _statements(app, username, path)
    more_codes = _add_rows(app, 50)
    many, many_html = _statements(app, username, path)

    assert any(code in few_html for code in first_codes)  # the page lists the new rows
    assert any(code in many_html for code in more_codes)
    if path == "/cases":  # a list that ends on its page is its own count; a longer one is counted once
        assert (len(_case_counts(few)), len(_case_counts(many))) == (0, 1), "\n".join(many)
    assert len(many) - len(_case_counts(many)) == len(few) - len(_case_counts(few)), "\n".join(many)
    assert len(many) <= CEILING[path], "\n".join(many)
    assert not any("confidential_notes" in s for s in many if path == "/cases")  # a list never reads notes
