"""Crisis pages: declare a disruption or a drill (with a preview of the cases it reaches),
the crisis dashboard with the disruption log, the data-validation report, the readiness
programme — and the banner every signed-in page shows while a disruption is active.

What the crisis team does on an active disruption (scope, staff, clients, the report) is
in ``webui.pages.crisis_actions``, on this blueprint."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from engine.crisis import availability as crisis_availability
from engine.crisis import declaration as crisis_service
from engine.crisis import disruption_report
from engine.crisis import fanout as crisis_fanout
from engine.crisis import readiness as crisis_readiness
from engine.crisis import records as crisis_records
from engine.crisis import reports as crisis_reports
from engine.crisis import scope as crisis_scope
from engine.errors import Conflict, Invalid
from engine.models.case import CaseStage
from engine.models.crisis import CrisisKind, LogEntryKind, SubFunction
from engine.people.directory import usernames
from webui.extensions import runtime, uow
from webui.pages.common import page_blueprint, page_number, require_roles

bp = page_blueprint("pages_crisis", __name__)

PAGE_ROLES = crisis_service.VIEW_ROLES + ("process_owner",)
REPORT_PAGE = 100
STAND_DOWN_ROLES = ("caseworker", "supervisor", "director")  # whose work backups take over
FUNCTION_CHOICES = [SelectChoice(f.value, LazyString(lambda code: _function_label(code), f.value)) for f in SubFunction]


class DeclareForm(FlaskForm):
    # no kind is chosen for the crisis team: they say which it is
    kind = SelectField(_l("Kind of disruption"), choices=[SelectChoice("", _l("Choose the kind of disruption…"))]
                       + [SelectChoice(k.value, _l(k.label)) for k in CrisisKind],
                       validators=[DataRequired(_l("choose the kind of disruption"))])
    description = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=4000)])
    affected_functions = SelectMultipleField(_l("Affected sub-functions of CBF-5"), choices=FUNCTION_CHOICES,
                                             option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    staff_instructions = TextAreaField(_l("What staff should do (shown to everyone while it lasts)"),
                                       validators=[Optional(), Length(max=crisis_service.INSTRUCTIONS_MAX)])
    drill = BooleanField(_l("This is a drill: run the plan without contacting clients or changing live records"))


class LogEntryForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, _l(k.label)) for k in LogEntryKind])
    text = TextAreaField(_l("Entry"), validators=[DataRequired(), Length(max=4000)])


# -- the banner on every signed-in page -------------------------------------------------
def active_banners() -> list[dict]:
    """What the banner says about each active disruption (read once per request)."""
    if "crisis_banners" not in g:
        g.crisis_banners = []
        if current_user.is_authenticated:
            with uow() as work:
                away = crisis_availability.absent_from(work.session, current_user.id)
                for crisis in crisis_service.active_disruptions(work.session):
                    g.crisis_banners.append({
                        "id": crisis.id, "drill": bool(crisis.drill), "kind": crisis.kind,
                        "since": crisis.declared_at, "status": crisis.status,
                        "functions": [_function_label(f) for f in crisis.functions],
                        "resume_by": crisis.resumption_due_at,
                        "instructions": crisis_service.staff_instructions(crisis),
                        "can_open": current_user.has_role(*crisis_service.VIEW_ROLES),
                        "can_stand_down": crisis.id not in away and current_user.has_role(*STAND_DOWN_ROLES)})
    return g.crisis_banners


@bp.app_context_processor
def _crisis_banner() -> dict:
    return {"crisis_banners": active_banners}


# what the audit trail's kinds of record are called in the data-validation report
RECORD_KINDS = {"case": _l("Case"), "human_task": _l("Task"), "process_instance": _l("Workflow"),
                "crisis": _l("Disruption"), "user": _l("Staff account"), "incident": _l("Service incident"),
                "complaint": _l("Complaint"), "supervision": _l("Supervision"), "handover": _l("Handover"),
                "readiness": _l("Readiness activity"), "process_model": _l("Process model"), "team": _l("Team")}


@bp.app_template_filter("record_kind")
def _record_kind(subject_type: str | None) -> str:
    known = RECORD_KINDS.get(subject_type or "")
    return str(known) if known is not None else (subject_type or "record").replace("_", " ").capitalize()


@bp.app_template_filter("stages_in_words")
def _stages_in_words(stages: list[str]) -> str:
    """The case stages a sub-function reaches, in the page's language (as engine.crisis.scope says them)."""
    words = _(", ").join(_(CaseStage.label_of(stage)).lower() for stage in stages)
    return words[:1].upper() + words[1:]


@bp.app_template_filter("function_label")
def _function_label(code: str) -> str:
    """``5.4`` as ``5.4 Monitoring & Follow-up`` (in the page's language)."""
    return f"{code} {_(SubFunction.label_of(code))}"


# -- declaring ---------------------------------------------------------------------------
def _index_context(form: DeclareForm, errors: dict | None = None, preview: dict | None = None) -> dict:
    with uow() as work:
        session = work.session
        active = crisis_service.active_disruptions(session)
        past, _ = crisis_service.list_crises(session, current_user.id, limit=20) \
            if current_user.has_role(*crisis_service.VIEW_ROLES) else ([], 0)
        readiness = crisis_readiness.list_activities(session, current_user.id) \
            if current_user.has_role(*crisis_readiness.VIEW_ROLES) else None
        scope = crisis_scope.describe_scope(session, [f.value for f in SubFunction]) \
            if current_user.has_role(*crisis_service.DECLARE_ROLES) else []
    return {"form": form, "errors": errors or {}, "active": active, "past": past, "readiness": readiness,
            "scope_by_code": {item["code"]: item for item in scope}, "preview": preview,
            "can_declare": current_user.has_role(*crisis_service.DECLARE_ROLES) and len(active) < 2,
            "can_open": current_user.has_role(*crisis_service.VIEW_ROLES),
            "can_schedule": current_user.has_role(*crisis_readiness.MANAGE_ROLES)}


@bp.get("/crisis")
@require_roles(*PAGE_ROLES)
def index():
    """The active disruptions, the declaration form with its preview, past crises, readiness."""
    return render_template("crisis.html", **_index_context(DeclareForm()))


@bp.post("/crisis/preview")
@require_roles(*crisis_service.DECLARE_ROLES)
def preview():
    """The declaration form again, with how many cases the chosen sub-functions reach."""
    form = DeclareForm()
    chosen = form.affected_functions.data or []
    try:
        with uow() as work:
            reach = crisis_scope.preview(work.session, current_user.id, chosen)
    except Invalid as err:
        return render_template("crisis.html", **_index_context(form, err.errors)), 422
    return render_template("crisis.html", **_index_context(form, preview=reach))


@bp.post("/crisis/declare")
@require_roles(*crisis_service.DECLARE_ROLES)
def declare():
    form = DeclareForm()
    if not form.validate_on_submit():
        return render_template("crisis.html", **_index_context(form, form.errors)), 422
    try:
        with uow() as work:
            record = crisis_service.declare_crisis(work, runtime(), current_user.id, form.kind.data,
                                                   form.description.data, form.affected_functions.data or [],
                                                   drill=bool(form.drill.data),
                                                   staff_instructions=form.staff_instructions.data or None)
            crisis_id = record.id
    except Invalid as err:
        return render_template("crisis.html", **_index_context(form, err.errors)), 422
    except Conflict as err:
        flash(err.message, "error")
        active = err.details.get("active_crisis_id")
        target = url_for("pages_crisis.dashboard", crisis_id=active) if active else url_for("pages_crisis.index")
        return redirect(target)
    flash(_("Drill declared: the BCP workflow has started and crisis checks are being created.") if form.drill.data
          else _("Disruption declared: the BCP workflow has started and crisis checks are being created."), "info")
    return redirect(url_for("pages_crisis.dashboard", crisis_id=crisis_id))


# -- the dashboard -----------------------------------------------------------------------
@bp.get("/crisis/<id:crisis_id>")
@require_roles(*crisis_service.VIEW_ROLES)
def dashboard(crisis_id: int):
    """Time left to T+24 h, checks by risk level, time to reach cases, follow-ups,
    sub-functions, staff, clients, the log."""
    return render_template("crisis_dashboard.html", **dashboard_context(crisis_id, LogEntryForm()))


def dashboard_context(crisis_id: int, log_form: LogEntryForm, **forms) -> dict:
    with uow() as work:
        session = work.session
        board = crisis_reports.dashboard(session, current_user.id, crisis_id)
        record = board["crisis"]
        entries, _ = crisis_records.list_log(session, current_user.id, crisis_id, limit=500)
        sees_cases = current_user.has_role(*crisis_service.CASE_LIST_ROLES)
        urgent = crisis_reports.list_checks(session, current_user.id, crisis_id, remaining=True, limit=20)[0] \
            if sees_cases else []
        reach = disruption_report.reach_times(session, record)
        names = usernames(session, (record.declared_by, record.communication_lead_id))
        actions = crisis_actions.action_context(session, record, forms)
    can_act = current_user.has_role("crisis_team") and record.active
    return {"board": board, "crisis": record, "entries": entries, "urgent": urgent, "sees_cases": sees_cases,
            "log_form": log_form, "can_log": can_act, "can_act": can_act, "names": names, "reach": reach,
            **actions}


@bp.post("/crisis/<id:crisis_id>/log")
@require_roles("crisis_team")
def add_log_entry(crisis_id: int):
    form = LogEntryForm()
    if not form.validate_on_submit():
        return render_template("crisis_dashboard.html", **dashboard_context(crisis_id, form)), 422
    with uow() as work:
        crisis_records.add_log_entry(work, current_user.id, crisis_id, form.kind.data, form.text.data)
    flash(_("Entry added to the disruption log."), "info")
    return redirect(url_for("pages_crisis.dashboard", crisis_id=crisis_id) + "#log")


@bp.post("/crisis/<id:crisis_id>/fan-out")
@require_roles("crisis_team")
def rerun_fan_out(crisis_id: int):
    with uow() as work:
        crisis_fanout.request_fan_out(work, current_user.id, crisis_id)
    flash(_("The crisis-check fan-out runs again; no case gets a second check."), "info")
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
    flash(ngettext("Readiness programme: %(num)s activity newly scheduled.",
                   "Readiness programme: %(num)s activities newly scheduled.", len(scheduled))
          if scheduled else _("Readiness programme: every activity was already scheduled."), "info")
    return redirect(url_for("pages_crisis.index") + "#readiness")


from webui.pages import crisis_actions, crisis_pdf  # noqa: E402,F401 - their routes register on this blueprint
