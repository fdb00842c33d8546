"""Crisis pages: declare a disruption (crisis team), the crisis dashboard with the
disruption log, the data-validation report, and the readiness programme."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from engine.crisis import declaration as crisis_service
from engine.crisis import fanout as crisis_fanout
from engine.crisis import readiness as crisis_readiness
from engine.crisis import records as crisis_records
from engine.crisis import reports as crisis_reports
from engine.errors import Conflict, Invalid
from engine.models.crisis import CRISIS_KINDS, LOG_ENTRY_KINDS, SUB_FUNCTIONS
from engine.people.directory import usernames
from webui.extensions import runtime, uow
from webui.pages.common import page_blueprint, page_number, require_roles

bp = page_blueprint("pages_crisis", __name__)

PAGE_ROLES = crisis_service.VIEW_ROLES + ("process_owner",)
KIND_LABELS = {"natural_disaster": "Natural disaster", "it_failure": "IT failure", "pandemic": "Pandemic",
               "staffing_shortage": "Staffing shortage", "security_breach": "Security breach", "other": "Other"}
REPORT_PAGE = 100


class DeclareForm(FlaskForm):
    kind = SelectField("Kind of disruption", choices=[SelectChoice(k, KIND_LABELS[k]) for k in CRISIS_KINDS],
                       validators=[DataRequired()])
    description = TextAreaField("What happened", validators=[DataRequired(), Length(max=4000)])
    affected_functions = SelectMultipleField(
        "Affected sub-functions of CBF-5",
        choices=[SelectChoice(code, f"{code} {name}") for code, name in SUB_FUNCTIONS.items()],
        option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))


class LogEntryForm(FlaskForm):
    kind = SelectField("Kind", choices=[SelectChoice(k, k.replace("_", " ")) for k in LOG_ENTRY_KINDS])
    text = TextAreaField("Entry", validators=[DataRequired(), Length(max=4000)])


def _index_context(form: DeclareForm, errors: dict | None = None) -> dict:
    with uow() as work:
        session = work.session
        active = crisis_service.active_crisis(session)
        past, _ = crisis_service.list_crises(session, current_user.id, limit=20) \
            if current_user.has_role(*crisis_service.VIEW_ROLES) else ([], 0)
        readiness = crisis_readiness.list_activities(session, current_user.id) \
            if current_user.has_role(*crisis_readiness.VIEW_ROLES) else None
    return {"form": form, "errors": errors or {}, "active": active, "past": past, "readiness": readiness,
            "kind_labels": KIND_LABELS, "can_declare": current_user.has_role(*crisis_service.DECLARE_ROLES),
            "can_schedule": current_user.has_role(*crisis_readiness.MANAGE_ROLES)}


@bp.get("/crisis")
@require_roles(*PAGE_ROLES)
def index():
    """The active crisis (or the declaration form), past crises, the readiness programme."""
    return render_template("crisis.html", **_index_context(DeclareForm()))


@bp.post("/crisis/declare")
@require_roles(*crisis_service.DECLARE_ROLES)
def declare():
    form = DeclareForm()
    if not form.validate_on_submit():
        return render_template("crisis.html", **_index_context(form, form.errors)), 422
    try:
        with uow() as work:
            record = crisis_service.declare_crisis(work, runtime(), current_user.id, form.kind.data,
                                                   form.description.data, form.affected_functions.data or [])
            crisis_id = record.id
    except Invalid as err:
        return render_template("crisis.html", **_index_context(form, err.errors)), 422
    except Conflict as err:
        flash(err.message, "error")
        active = err.details.get("active_crisis_id")
        target = url_for("pages_crisis.dashboard", crisis_id=active) if active else url_for("pages_crisis.index")
        return redirect(target)
    flash("Disruption declared: the BCP workflow has started and crisis checks are being created.", "info")
    return redirect(url_for("pages_crisis.dashboard", crisis_id=crisis_id))


@bp.get("/crisis/<id:crisis_id>")
@require_roles(*crisis_service.VIEW_ROLES)
def dashboard(crisis_id: int):
    """Time left to T+24 h, checks by risk level, follow-ups, sub-functions, the log."""
    return render_template("crisis_dashboard.html", **_dashboard_context(crisis_id, LogEntryForm()))


def _dashboard_context(crisis_id: int, log_form: LogEntryForm) -> dict:
    with uow() as work:
        session = work.session
        board = crisis_reports.dashboard(session, current_user.id, crisis_id)
        entries, _ = crisis_records.list_log(session, current_user.id, crisis_id, limit=500)
        sees_cases = current_user.has_role(*crisis_service.CASE_LIST_ROLES)
        urgent = crisis_reports.list_checks(session, current_user.id, crisis_id, remaining=True, limit=20)[0] \
            if sees_cases else []
        record = board["crisis"]
        names = usernames(session, (record.declared_by, record.communication_lead_id))
    return {"board": board, "crisis": board["crisis"], "entries": entries, "urgent": urgent, "sees_cases": sees_cases,
            "log_form": log_form, "can_log": current_user.has_role("crisis_team") and board["crisis"].active,
            "kind_labels": KIND_LABELS, "names": names}


@bp.post("/crisis/<id:crisis_id>/log")
@require_roles("crisis_team")
def add_log_entry(crisis_id: int):
    form = LogEntryForm()
    if not form.validate_on_submit():
        return render_template("crisis_dashboard.html", **_dashboard_context(crisis_id, form)), 422
    with uow() as work:
        crisis_records.add_log_entry(work, current_user.id, crisis_id, form.kind.data, form.text.data)
    flash("Entry added to the disruption log.", "info")
    return redirect(url_for("pages_crisis.dashboard", crisis_id=crisis_id) + "#log")


@bp.post("/crisis/<id:crisis_id>/fan-out")
@require_roles("crisis_team")
def rerun_fan_out(crisis_id: int):
    with uow() as work:
        crisis_fanout.request_fan_out(work, current_user.id, crisis_id)
    flash("The crisis-check fan-out runs again; no case gets a second check.", "info")
    return redirect(url_for("pages_crisis.dashboard", crisis_id=crisis_id))


@bp.get("/crisis/<id:crisis_id>/data-validation")
@require_roles(*crisis_service.CASE_LIST_ROLES)
def data_validation(crisis_id: int):
    """R40: every record created or changed during the disruption."""
    page = page_number(request.args.get("page"))
    with uow() as work:
        report = crisis_reports.data_validation_report(work, current_user.id, crisis_id, limit=REPORT_PAGE,
                                                       offset=(page - 1) * REPORT_PAGE)
    pages = max((report["total"] + REPORT_PAGE - 1) // REPORT_PAGE, 1)
    return render_template("crisis_data_validation.html", report=report, page=page, pages=pages)


@bp.post("/crisis/readiness")
@require_roles(*crisis_readiness.MANAGE_ROLES)
def schedule_readiness():
    with uow() as work:
        result = crisis_readiness.schedule_readiness(work, runtime(), current_user.id)
    scheduled = result.get("scheduled") or []
    flash(f"Readiness programme: {len(scheduled)} activit{'y' if len(scheduled) == 1 else 'ies'} newly scheduled."
          if scheduled else "Readiness programme: every activity was already scheduled.", "info")
    return redirect(url_for("pages_crisis.index") + "#readiness")
