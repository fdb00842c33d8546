"""The supervisor's dashboard: caseloads against the cap, late and upcoming tasks of the
team, the team's cases by risk and status, reviews coming due; reassign a task or hand a
case over (R29, R30)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.case import dashboards
from engine.case.assignment import hand_over_case
from engine.errors import Conflict, Invalid, NotFound
from engine.models.case import ACTIVE_STATUSES, CASE_STATUSES, UNRATED, RiskLevel
from engine.process.decision_parameters import decision_value
from engine.process.reassignment import reassign_task
from webui.api.bounds import TASK_ID
from webui.extensions import uow
from webui.pages.common import page_blueprint, require_roles

bp = page_blueprint("pages_dashboard", __name__)
TEAM_ROLES = ("supervisor", "director")
RISK_ORDER = (*RiskLevel.values(), UNRATED)


def caseload_cap(session) -> int | None:
    """R06: the cap process owners keep in DMN ``caseload_limits``."""
    value = decision_value(session, "caseload_limits", "max_active_cases", staff_role="caseworker")
    return value if isinstance(value, int) else None


@bp.get("/dashboard")
@require_roles(*TEAM_ROLES)
def dashboard():
    with uow() as work:
        cap = caseload_cap(work.session)
        data = dashboards.supervisor_dashboard(work.session, current_user.id, ACTIVE_STATUSES, cap)
        caseworkers = [(uid, name) for uid, name, roles in data.team if "caseworker" in roles]
    risk = [(level, data.cases_by_risk.get(level, 0)) for level in RISK_ORDER]
    status = [(code, data.cases_by_status.get(code, 0)) for code in CASE_STATUSES]
    return render_template("dashboard.html", data=data, cap=cap, risk=risk, status=status,
                           caseworkers=caseworkers, me=(current_user.id, current_user.username))


def _back():
    return redirect(url_for("pages_dashboard.dashboard") + "#" + request.form.get("anchor", "overdue"))


@bp.post(f"/dashboard/tasks/<{TASK_ID}:task_id>/reassign")
@require_roles(*TEAM_ROLES)
def reassign(task_id: str):
    with uow() as work:
        try:
            task = reassign_task(work, current_user.id, task_id, request.form.get("assignee", ""),
                                 request.form.get("reason", ""))
        except (Invalid, Conflict) as err:
            flash(f"Not reassigned: {err.message}.", "error")
            return _back()
        flash(f"“{task.title}”{' for ' + task.case_code if task.case_code else ''} now lies with "
              f"{request.form.get('assignee')}.", "info")
    return _back()


@bp.post("/dashboard/cases/reassign")
@require_roles(*TEAM_ROLES)
def reassign_case():
    code = request.form.get("case_code", "").strip()
    with uow() as work:
        try:
            hand_over_case(work, current_user.id, code, request.form.get("caseworker", ""),
                           request.form.get("reason", ""))
        except (Invalid, Conflict, NotFound) as err:
            detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in (err.errors or {}).items())
            flash(f"Case {code or '(no code)'} not handed over: {err.message}{' (' + detail + ')' if detail else ''}.",
                  "error")
            return redirect(url_for("pages_dashboard.dashboard") + "#handover")
    flash(f"Case {code} now lies with {request.form.get('caseworker')}; their open tasks on it moved too.", "info")
    return redirect(url_for("pages_dashboard.dashboard") + "#caseloads")
