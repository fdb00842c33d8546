"""The supervisor's dashboard: urgent cases first, caseloads against the cap, late and
upcoming tasks of the team and every other open task of theirs, the team's cases by risk
and status, reviews coming due; reassign any task or hand a case over by choosing from a
list (R29, R30, R46)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.case import case_lists, dashboards
from engine.case.assignment import hand_over_case
from engine.errors import Conflict, Invalid, NotFound
from engine.models.case import ACTIVE_STATUSES, CASE_STATUSES, UNRATED, RiskLevel
from engine.process import inbox as inbox_queries
from engine.process.decision_parameters import decision_value
from engine.process.reassignment import reassign_task, reassignment_choices
from webui.api.bounds import TASK_ID
from webui.extensions import uow
from webui.pages.auth import safe_next
from webui.pages.common import page_blueprint, page_number, require_roles
from webui.pages.navigation import nav_counts

bp = page_blueprint("pages_dashboard", __name__)
TEAM_ROLES = ("supervisor", "director")
RISK_ORDER = (*RiskLevel.values(), UNRATED)
ALL_TASKS_PAGE = 25
ANCHORS = ("overdue", "week", "all-tasks", "urgent")


def caseload_cap(session) -> int | None:
    """R06: the cap process owners keep in DMN ``caseload_limits``."""
    value = decision_value(session, "caseload_limits", "max_active_cases", staff_role="caseworker")
    return value if isinstance(value, int) else None


@bp.get("/dashboard")
@require_roles(*TEAM_ROLES)
def dashboard():
    counted = nav_counts()  # the navigation's counts, once a request: the team's ready tasks among them
    with uow() as work:
        cap = caseload_cap(work.session)
        data = dashboards.supervisor_dashboard(work.session, current_user.id, ACTIVE_STATUSES, cap)
        caseworkers = [(uid, name) for uid, name, roles in data.team if "caseworker" in roles]
        every_task = inbox_queries.inbox_page(work.session, current_user.id, inbox_queries.InboxQuery(
            scope="team", page=page_number(request.args.get("tasks")), page_size=ALL_TASKS_PAGE),
            known_counts=counted)
        choices = reassignment_choices(work.session, current_user.id,
                                       [*data.overdue, *data.due_this_week, *every_task.rows])
        cases_to_hand_over = case_lists.handover_choices(work.session, current_user.id)
    risk = [(level, data.cases_by_risk.get(level, 0)) for level in RISK_ORDER]
    status = [(code, data.cases_by_status.get(code, 0)) for code in CASE_STATUSES]
    return render_template("dashboard.html", data=data, cap=cap, risk=risk, status=status,
                           caseworkers=caseworkers, reassign_choices=choices, every_task=every_task,
                           cases_to_hand_over=cases_to_hand_over)


def _back(default_anchor: str = "overdue"):
    """Back where the form was: a case file (``back``), or the dashboard's section."""
    back = safe_next(request.form.get("back"))
    if back and back.startswith("/cases/"):
        return redirect(back)
    anchor = request.form.get("anchor", default_anchor)
    return redirect(url_for("pages_dashboard.dashboard") + "#" + (anchor if anchor in ANCHORS else default_anchor))


@bp.post(f"/dashboard/tasks/<{TASK_ID}:task_id>/reassign")
@require_roles(*TEAM_ROLES)
def reassign(task_id: str):
    with uow() as work:
        try:
            task = reassign_task(work, current_user.id, task_id, request.form.get("assignee", ""),
                                 request.form.get("reason", ""))
        except (Invalid, Conflict) as err:
            flash(_("Not reassigned: %(why)s.", why=err.message), "error")
            return _back()
        who = request.form.get("assignee")
        flash(_("“%(task)s” for %(case)s now lies with %(who)s.", task=task.title, case=task.case_code, who=who)
              if task.case_code else _("“%(task)s” now lies with %(who)s.", task=task.title, who=who), "info")
    return _back()


@bp.post("/dashboard/cases/reassign")
@require_roles(*TEAM_ROLES)
def reassign_case():
    code = request.form.get("case_code", "").strip()[:40]
    back = safe_next(request.form.get("back"))
    back = back if back and back.startswith("/cases/") else None
    with uow() as work:
        try:
            hand_over_case(work, current_user.id, code, request.form.get("caseworker", ""),
                           request.form.get("reason", ""))
        except (Invalid, Conflict, NotFound) as err:
            detail = "; ".join(", ".join(v) for v in (err.errors or {}).values())
            flash(_("Case %(code)s not handed over: %(why)s.", code=code or _("(none chosen)"),
                    why=err.message + (f" ({detail})" if detail else "")), "error")
            return redirect(back or url_for("pages_dashboard.dashboard") + "#handover")
    flash(_("Case %(code)s now lies with %(who)s; their open tasks on it moved too.", code=code,
            who=request.form.get("caseworker")), "info")
    return redirect(back or url_for("pages_dashboard.dashboard") + "#caseloads")
