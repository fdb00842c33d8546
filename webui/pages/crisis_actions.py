"""What the crisis team does on an active disruption, from its dashboard: widen or narrow
the sub-functions (with a note), mark staff unavailable or back, inform clients from a
message template, and (a director) unlock the most sensitive records the crisis team locked
— and the disruption report (HTML, printable as PDF)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from engine.case import record_locks
from engine.crisis import availability as crisis_availability
from engine.crisis import client_contact, disruption_report, sensitive_records
from engine.crisis import declaration as crisis_service
from engine.crisis import scope as crisis_scope
from engine.errors import Conflict, Invalid
from engine.models import User, UserRole
from webui.extensions import engine_ctx, runtime, uow
from webui.pages.common import require_roles
from webui.pages.crisis import FUNCTION_CHOICES, LogEntryForm, bp, dashboard_context

STAFF_ROLES = ("caseworker", "supervisor", "director", "crisis_team")


class ScopeForm(FlaskForm):
    affected_functions = SelectMultipleField(_l("Affected sub-functions"), choices=FUNCTION_CHOICES,
                                             option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    note = TextAreaField(_l("Why the scope changes"), validators=[DataRequired(_l("say why the scope changes")),
                                                              Length(max=crisis_scope.NOTE_MAX)])


class StaffForm(FlaskForm):
    username = SelectField(_l("Member of staff"), validators=[DataRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=crisis_availability.NOTE_MAX)])


class MessageForm(FlaskForm):
    template = SelectField(_l("Message"), validators=[DataRequired()])


def templates_dir():
    return engine_ctx().settings.workflows_dir / "templates"


def _staff_choices(session) -> list[SelectChoice]:
    rows = session.execute(select(User.username, User.display_name).join(UserRole, UserRole.user_id == User.id)
                           .where(User.active, UserRole.role.in_(STAFF_ROLES)).distinct()
                           .order_by(User.username)).all()
    return [SelectChoice(name, f"{display or name} ({name})") for name, display in rows]


def action_context(session, crisis, forms: dict) -> dict:
    """The forms and figures of the dashboard's action sections."""
    scope_form = forms.get("scope_form") or ScopeForm(formdata=None, affected_functions=crisis.functions)
    staff_form = forms.get("staff_form") or StaffForm(formdata=None)
    staff_form.username.choices = _staff_choices(session)
    message_form = forms.get("message_form") or MessageForm(formdata=None)
    try:
        templates = client_contact.templates_for(templates_dir(), crisis)
        template_problem = None
    except Invalid as err:
        templates, template_problem = [], err.message
    message_form.template.choices = [SelectChoice(t.id, _(t.title)) for t in templates]  # in the page's language
    return {"scope_form": scope_form, "staff_form": staff_form, "message_form": message_form,
            "templates": templates, "template_problem": template_problem,
            "absences": crisis_availability.list_absences(session, crisis.id),
            "contacts": client_contact.contact_summary(session, current_user.id, crisis.id),
            "locks": [lock for lock in sensitive_records.locks(session) if lock["crisis_id"] == crisis.id],
            "may_unlock": current_user.has_role(*record_locks.UNLOCK_ROLES),
            "scope_stages": {item["code"]: item["stages"]
                           for item in crisis_scope.describe_scope(session, crisis.functions)}}


def _back(crisis_id: int, anchor: str):
    return redirect(url_for("pages_crisis.dashboard", crisis_id=crisis_id) + anchor)


def _again(crisis_id: int, **forms):
    return render_template("crisis_dashboard.html", **dashboard_context(crisis_id, LogEntryForm(), **forms)), 422


@bp.post("/crisis/<id:crisis_id>/sensitive-records/unlock")
@require_roles(*record_locks.UNLOCK_ROLES)
def unlock_sensitive_records(crisis_id: int):
    """A director lifts the locks this crisis set on the most sensitive records (R50)."""
    try:
        with uow() as work:
            record_locks.unlock(work, current_user.id, crisis_id)
    except Conflict:
        flash(_("Nothing is locked for this crisis."), "info")
        return _back(crisis_id, "#sensitive-records")
    flash(_("The sensitive records are unlocked: those who may read them see them again."), "info")
    return _back(crisis_id, "#sensitive-records")


@bp.post("/crisis/<id:crisis_id>/scope")
@require_roles(*crisis_service.DECLARE_ROLES)
def change_scope(crisis_id: int):
    form = ScopeForm()
    if not form.validate_on_submit():
        return _again(crisis_id, scope_form=form)
    try:
        with uow() as work:
            crisis_scope.change_scope(work, runtime(), current_user.id, crisis_id, form.affected_functions.data or [],
                                      form.note.data)
    except Invalid as err:
        form.affected_functions.errors = list(err.errors.get("affected_functions") or [err.message])
        return _again(crisis_id, scope_form=form)
    flash(_("Scope changed: the newly covered cases get their crisis checks now; the log records the change."), "info")
    return _back(crisis_id, "#scope")


@bp.post("/crisis/<id:crisis_id>/staff/unavailable")
@require_roles(*crisis_availability.MARK_ROLES)
def mark_unavailable(crisis_id: int):
    form = StaffForm()
    with uow() as work:
        form.username.choices = _staff_choices(work.session)
    if not form.validate_on_submit():
        return _again(crisis_id, staff_form=form)
    try:
        with uow() as work:
            done = crisis_availability.mark_unavailable(work, current_user.id, crisis_id, form.username.data,
                                                        form.note.data)
    except (Invalid, Conflict) as err:
        flash(err.message, "error")
        return _back(crisis_id, "#staff")
    flash(ngettext("%(who)s is unavailable: %(num)s open task went to backup staff.",
                   "%(who)s is unavailable: %(num)s open tasks went to backup staff.", done["tasks_moved"],
                   who=done["username"]), "info")
    return _back(crisis_id, "#staff")


@bp.post("/crisis/<id:crisis_id>/staff/me/unavailable")
@require_roles()
def mark_myself_unavailable(crisis_id: int):
    """Anyone on the staff says they cannot work during the disruption (from the banner)."""
    try:
        with uow() as work:
            done = crisis_availability.mark_unavailable(work, current_user.id, crisis_id, current_user.username,
                                                        "said so themself")
    except (Invalid, Conflict) as err:
        flash(err.message, "error")
        return redirect(url_for("pages_inbox.inbox"))
    flash(ngettext("You are marked unavailable: %(num)s open task went to backup staff. They come back to you when "
                   "recovery starts.", "You are marked unavailable: %(num)s open tasks went to backup staff. They "
                   "come back to you when recovery starts.", done["tasks_moved"]), "info")
    return redirect(url_for("pages_inbox.inbox"))


@bp.post("/crisis/<id:crisis_id>/staff/<username>/available")
@require_roles(*crisis_availability.MARK_ROLES)
def mark_available(crisis_id: int, username: str):
    try:
        with uow() as work:
            done = crisis_availability.mark_available(work, current_user.id, crisis_id, username)
    except (Invalid, Conflict) as err:
        flash(err.message, "error")
        return _back(crisis_id, "#staff")
    flash(ngettext("%(who)s is available again: %(num)s open task went back to them.",
                   "%(who)s is available again: %(num)s open tasks went back to them.", done["tasks_returned"],
                   who=done["username"]), "info")
    return _back(crisis_id, "#staff")


@bp.post("/crisis/<id:crisis_id>/client-messages")
@require_roles(*client_contact.SEND_ROLES)
def send_client_messages(crisis_id: int):
    form = MessageForm()
    with uow() as work:
        crisis = crisis_service.load_crisis(work.session, crisis_id)
        form.template.choices = [SelectChoice(t.id, _(t.title)) for t in client_contact.templates_for(templates_dir(),
                                                                                                   crisis)]
    if not form.validate_on_submit():
        return _again(crisis_id, message_form=form)
    with uow() as work:
        sent = client_contact.send_template(work, current_user.id, crisis_id, form.template.data, templates_dir())
    what = _("Drill: nothing was sent; ") if sent["drill"] else ""
    flash(what + ngettext("%(num)s client: %(email)s by e-mail, %(sms)s by SMS, %(personal)s need a call or visit.",
                          "%(num)s clients: %(email)s by e-mail, %(sms)s by SMS, %(personal)s need a call or visit.",
                          sent["cases"], email=sent["email"], sms=sent["sms"], personal=sent["personal"]), "info")
    return _back(crisis_id, "#clients")


@bp.get("/crisis/<id:crisis_id>/report")
@require_roles(*crisis_service.CASE_LIST_ROLES)
def report(crisis_id: int):
    """The disruption report: the input to the BCP update; prints as a PDF."""
    with uow() as work:
        data = disruption_report.disruption_report(work, current_user.id, crisis_id)
    return render_template("crisis_report.html", report=data, crisis=data["crisis"])
