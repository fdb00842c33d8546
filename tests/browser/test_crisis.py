"""The crisis reaches every case and every person it should (issue 17), in the browser:
the preview before declaring, widening the scope, the banner and the crisis check first in
a caseworker's inbox, backups for an unavailable caseworker, a drill that changes no live
record, and the disruption report as a PDF."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.models import Case, HumanTask, User
from engine.models.crisis import Crisis, CrisisCaseCheck
from engine.models.ops import Notification
from tests.browser.conftest import ARTIFACTS, shot, sign_in

CHECKS_WAIT_S = 60


def _user(ctx, username: str) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(User.id).where(User.username == username))


def _seed(ctx, cases: list[tuple[str, str, str | None, str]]) -> None:
    """(code, stage, risk, caseworker) open cases of supervisor1's team."""
    supervisor = _user(ctx, "supervisor1")
    with ctx.uow() as uow:
        for code, stage, risk, caseworker in cases:
            uow.session.add(Case(code=code, status="O", stage=stage, risk_level=risk,
                                 caseworker_id=_user(ctx, caseworker), supervisor_id=supervisor))
        uow.session.add(Case(code="C-GONE", status="C", stage="implementation", risk_level="high",
                             caseworker_id=_user(ctx, "caseworker1"), supervisor_id=supervisor))
        uow.commit()


CASELOAD = [("C-ASSESS-1", "assessment", "high", "caseworker1"), ("C-ASSESS-2", "assessment", "high", "caseworker2"),
            ("C-PLAN", "planning", "high", "caseworker1"), ("C-IMPL", "implementation", "medium", "caseworker1"),
            ("C-REVIEW", "review", "low", "caseworker2"), ("C-CLOSING", "closure", "medium", "caseworker1")]


def _checks(ctx, crisis_id: int) -> dict[str, int]:
    """Case code -> how many crisis checks this crisis gave it (with a started instance)."""
    with ctx.session_factory() as session:
        return dict(session.execute(select(CrisisCaseCheck.case_code, func.count()).where(
            CrisisCaseCheck.crisis_id == crisis_id, CrisisCaseCheck.instance_id.is_not(None))
            .group_by(CrisisCaseCheck.case_code)).all())


def _wait_for_checks(live_app, crisis_id: int, how_many: int) -> dict[str, int]:
    queue = live_app.app.extensions["task_queue"]
    assert queue.wait_for(lambda: sum(_checks(live_app.ctx, crisis_id).values()) >= how_many,
                          timeout_s=CHECKS_WAIT_S), _checks(live_app.ctx, crisis_id)
    return _checks(live_app.ctx, crisis_id)


def _latest_crisis(ctx) -> Crisis:
    with ctx.session_factory() as session:
        return session.scalars(select(Crisis).order_by(Crisis.id.desc())).first()


def _declare_via_api(live_app, functions: list[str], drill: bool = False) -> int:
    resp = live_app.api("crisislead1").post("/api/crises", json={
        "kind": "it_failure", "description": "Case management system down", "affected_functions": functions,
        "drill": drill, "staff_instructions": "Work from the paper files."})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def test_preview_counts_match_the_fan_out_and_widening_reaches_new_cases_once_R35_R37(page, live_app):
    """R35/R37: the preview says how many cases 5.4 reaches (by risk and stage) and which
    stages it covers; the fan-out then reaches exactly those; widening 5.4 to 5.1-5.6 gives
    each newly covered case its check once, and the log records the change."""
    ctx = live_app.ctx
    _seed(ctx, CASELOAD)
    sign_in(page, "crisislead1")
    page.goto("/crisis")
    kind = page.get_by_label("Kind of disruption")
    assert kind.input_value() == ""  # no default kind: the crisis team says which it is
    row_54 = page.locator("tr", has=page.get_by_label("5.4 Monitoring & Follow-up"))
    assert row_54.locator("td").nth(1).inner_text() == "Implementation, case review"
    kind.select_option(label="IT failure")
    page.get_by_label("What happened").fill("The case management system is down")
    page.get_by_label("5.4 Monitoring & Follow-up").check()
    page.get_by_role("button", name="Preview the cases reached").click()
    preview = page.locator("#preview")
    preview.wait_for()
    assert "2 open cases would get a crisis check now" in preview.inner_text()
    by_risk = preview.get_by_role("table", name="By risk level").inner_text()
    assert "medium\t1" in by_risk and "low\t1" in by_risk and "high\t0" in by_risk
    by_stage = preview.get_by_role("table", name="By stage").inner_text()
    assert "Implementation\t1" in by_stage and "Case review\t1" in by_stage
    assert "C-IMPL" not in page.content()  # counts only
    assert page.get_by_label("Kind of disruption").input_value() == "it_failure"  # the form kept its answers
    shot(page, "crisis_preview_5_4")

    page.get_by_role("button", name="Declare", exact=True).click()
    page.get_by_role("heading", name="Disruption #", level=1).wait_for()
    crisis_id = _latest_crisis(ctx).id
    assert _wait_for_checks(live_app, crisis_id, 2) == {"C-IMPL": 1, "C-REVIEW": 1}  # what the preview said
    page.reload()
    assert page.locator("[data-figure=checked]").inner_text() == "0 / 2"
    assert "IT failure" in page.locator("h1").inner_text()
    shot(page, "crisis_dashboard_after_declaring")

    scope = page.locator("#scope")
    for code in ("5.1", "5.2", "5.3", "5.5", "5.6"):
        scope.locator(f"input[value='{code}']").check()
    scope.get_by_label("Why the scope changes").fill("Intake and planning are down too")
    scope.get_by_role("button", name="Change the scope").click()
    page.locator(".flash").filter(has_text="Scope changed").wait_for()
    reached = _wait_for_checks(live_app, crisis_id, len(CASELOAD))
    assert reached == {code: 1 for code, *_ in CASELOAD}  # every open case once; the closed one never
    page.reload()
    assert page.locator("[data-figure=checked]").inner_text() == f"0 / {len(CASELOAD)}"
    log = page.locator("#log").inner_text()
    assert "Scope widened" in log and "Intake and planning are down too" in log
    assert "added 5.1 Client Intake & Assessment" in log
    shot(page, "crisis_scope_widened")


def test_caseworker_sees_the_banner_and_their_crisis_check_first_R37(page, live_app):
    """While a disruption is active every page says so (kind, since when, what is
    affected, what to do), and the caseworker's crisis check heads their inbox."""
    ctx = live_app.ctx
    _seed(ctx, [("C-MINE", "implementation", "low", "caseworker1")])
    referral = live_app.api("supervisor1").post("/api/cases", json={
        "referral": {"source": "ngo", "primary_concern": "Missing school"}, "client": {"name": "Ottoline Quarry"}})
    assert referral.status_code == 201, referral.get_json()
    crisis_id = _declare_via_api(live_app, ["5.4"])
    _wait_for_checks(live_app, crisis_id, 1)

    sign_in(page, "caseworker1")
    banner = page.get_by_role("region", name="Disruption in progress")
    assert "IT failure" in banner.inner_text()
    text = banner.inner_text()
    assert "5.4 Monitoring & Follow-up" in text and "Work from the paper files." in text and "Since" in text
    assert "it_failure" not in page.content()
    assert banner.get_by_role("button", name="I cannot work during this disruption").is_visible()
    rows = page.locator("table.tasks tbody tr")
    assert rows.count() >= 2  # the crisis check and the new referral's screening
    assert rows.first.locator("td.case-code").inner_text() == "C-MINE"
    assert "crisis check" in rows.first.inner_text().lower()
    with ctx.session_factory() as session:
        due = dict(session.execute(select(HumanTask.bpmn_id, HumanTask.due_at).where(
            HumanTask.state == "ready", HumanTask.case_code.is_not(None))).all())
    assert due["screening"] < due["crisis_check"]  # first although the screening is due sooner
    shot(page, "crisis_caseworker_inbox_banner")
    with ctx.session_factory() as session:
        told = list(session.scalars(select(Notification.subject).where(
            Notification.user_id == _user(ctx, "caseworker1"), Notification.kind == "crisis_declared")))
    assert told == ["Disruption declared: IT failure affecting 5.4 Monitoring & Follow-up"]  # in-app, and by e-mail
    page.goto("/cases")
    assert page.get_by_role("region", name="Disruption in progress").is_visible()
    shot(page, "crisis_banner_on_cases_page")


def test_unavailable_caseworkers_check_lands_with_a_backup_R37_R38(page, live_app):
    """The crisis team marks caseworker1 unavailable: their crisis check goes to a
    colleague by the backup rule and heads the colleague's inbox."""
    ctx = live_app.ctx
    _seed(ctx, [("C-AWAY", "implementation", "high", "caseworker1")])
    crisis_id = _declare_via_api(live_app, ["5.4"])
    _wait_for_checks(live_app, crisis_id, 1)

    sign_in(page, "crisislead1")
    page.goto(f"/crisis/{crisis_id}")
    staff = page.locator("#staff")
    staff.get_by_label("Member of staff").select_option(value="caseworker1")
    staff.get_by_label("Note (optional)").fill("Off sick")
    staff.get_by_role("button", name="Mark unavailable").click()
    page.locator(".flash").filter(has_text="is unavailable").wait_for()
    assert "1 open task went to backup staff" in page.locator(".flash").inner_text()
    assert "Off sick" in page.locator("#staff").inner_text()
    shot(page, "crisis_staff_unavailable")
    with ctx.session_factory() as session:
        check = session.scalar(select(CrisisCaseCheck).where(CrisisCaseCheck.crisis_id == crisis_id))
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == check.instance_id))
        away = session.get(User, _user(ctx, "caseworker1"))
    assert check.backup and check.assignee_id == _user(ctx, "caseworker2") == task.assignee_id
    assert away.available is False  # the people administration's flag

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "caseworker2")
    first = page.locator("table.tasks tbody tr").first
    assert first.locator("td.case-code").inner_text() == "C-AWAY"
    shot(page, "crisis_backup_inbox")


def _live_snapshot(ctx) -> dict:
    with ctx.session_factory() as session:
        cases = {c.code: (c.status, c.stage, c.risk_level, c.caseworker_id, c.date_next_contact, c.in_crisis)
                 for c in session.scalars(select(Case))}
        people = {u.username: u.available for u in session.scalars(select(User))}
    return {"cases": cases, "people": people}


DRILL_STEPS = [
    ("crt_briefing", {"briefing_held": True, "communication_channel": "hotline"}),
    ("assign_communication_lead", {"communication_lead": "crisislead1"}),
    ("inform_clients", {"sent": True, "channels": ["sms"]}),
    ("inform_staff", {"sent": True, "channels": ["sms"]}),
    ("inform_stakeholders", {"sent": True, "channels": ["sms"]}),
    ("assign_crt_tasks", {"assignments": [{"member": "crisislead1", "task": "affected cases"}]}),
    ("review_client_impact", {"reviewed": True}),
    ("arrange_alternative_services", {"arrangements": ["remote_work"]}),
    ("resume_5_4", {"resumed": True}),
    ("restore_systems", {"systems_restored": ["case_management"], "restored_from_backup": True}),
    ("integrity_check", {"integrity_ok": True}),
    ("confirm_resumption", {"resumption_confirmed": True}),
    ("impact_assessment", {"completed": True}), ("review_rescheduling", {"completed": True}),
    ("service_restoration", {"completed": True}),
    ("data_validation", {"records_verified": True, "discrepancies_found": False}),
    ("staff_wellbeing", {"completed": True}), ("crt_debrief", {"completed": True}),
    ("lessons_learned", {"lessons": "Backups took two hours to reach the high-risk clients"}),
]


def _complete_bcp_step(live_app, instance_id: int, bpmn_id: str, data: dict) -> str:
    with live_app.ctx.session_factory() as session:
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.bpmn_id == bpmn_id, HumanTask.state == "ready"))
    assert task is not None, bpmn_id
    who = "director1" if task.role == "director" else "crisislead1"
    resp = live_app.api(who).post(f"/api/tasks/{task.id}/complete", json={"data": data})
    assert resp.status_code == 200, (bpmn_id, resp.get_json())
    return task.title


def test_a_drill_runs_end_to_end_with_no_live_record_changed_and_its_report_prints_R41_R54(page, live_app):
    """R41/R54: a drill declared from the page runs the same workflow, every task says
    "Drill", the check measures the time to reach the case, nothing live changes, a
    debrief follows; the disruption report renders as a PDF."""
    ctx = live_app.ctx
    _seed(ctx, [("C-DRILL", "implementation", "high", "caseworker1")])
    before = _live_snapshot(ctx)

    sign_in(page, "crisislead1")
    page.goto("/crisis")
    page.get_by_label("Kind of disruption").select_option(label="IT failure")
    page.get_by_label("What happened").fill("Drill: the server room floods")
    page.get_by_label("5.4 Monitoring & Follow-up").check()
    page.get_by_label("This is a drill").check()
    page.get_by_role("button", name="Declare", exact=True).click()
    page.get_by_role("heading", name="Drill #", level=1).wait_for()
    record = _latest_crisis(ctx)
    assert record.drill
    _wait_for_checks(live_app, record.id, 1)
    page.reload()
    assert page.get_by_role("region", name="Drill in progress").is_visible()
    staff = page.locator("#staff")
    staff.get_by_label("Member of staff").select_option(value="caseworker1")
    staff.get_by_role("button", name="Mark unavailable").click()
    page.locator(".flash").filter(has_text="is unavailable").wait_for()
    page.locator("#clients").get_by_role("button", name="Send the message").click()
    page.locator(".flash").filter(has_text="Drill: nothing was sent").wait_for()
    shot(page, "crisis_drill_dashboard")

    # the drill's check went to the backup (caseworker2), marked as a drill; they record it on the page
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "caseworker2")
    first = page.locator("table.tasks tbody tr").first
    assert first.locator("td.case-code").inner_text() == "C-DRILL"
    assert "Drill — " in first.inner_text()
    shot(page, "crisis_drill_check_in_backup_inbox")
    resp = live_app.api("caseworker2")
    with ctx.session_factory() as session:
        check_task = session.scalar(select(HumanTask).join(CrisisCaseCheck, CrisisCaseCheck.instance_id ==
                                                           HumanTask.instance_id)
                                    .where(CrisisCaseCheck.crisis_id == record.id, HumanTask.state == "ready"))
    done = resp.post(f"/api/tasks/{check_task.id}/complete", json={"data": {
        "client_reached": True, "contact_method": "phone", "client_safe": True, "reassessment_needed": False}})
    assert done.status_code == 200, done.get_json()

    titles = [_complete_bcp_step(live_app, record.instance_id, step, data) for step, data in DRILL_STEPS]
    assert all(t.startswith("Drill — ") for t in titles)
    assert any("debrief" in t.lower() for t in titles)
    with ctx.session_factory() as session:
        finished = session.get(Crisis, record.id)
    assert finished.status == "closed" and finished.active_slot is None
    assert _live_snapshot(ctx) == before  # no live case record, no one's availability changed

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "crisislead1")
    page.goto(f"/crisis/{record.id}/report")
    report = page.locator("article.crisis-report")
    assert "Drill report" in report.inner_text()
    assert "1 of 1 clients reached: 1 within the 24-hour deadline" in report.inner_text()
    assert "Backups took two hours" in report.inner_text()
    shot(page, "crisis_drill_report")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as PDF").click()
    pdf = download_info.value
    target = ARTIFACTS / "crisis_drill_report.pdf"
    pdf.save_as(str(target))
    content = target.read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 5000
