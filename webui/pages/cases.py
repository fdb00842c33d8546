"""Cases: the list I may see (by code), a new referral (warned of a likely duplicate, and
sent once however often the form is), and the case file — tracking fields, history,
referrals, tasks, contacts and notes added at any time, the process diagram with the
current position, the strictly confidential section for those allowed — and its printable
summary (R32, R33, R34)."""
from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine import clock
from engine.case import case_lists, consultation, file_release, intake, notes
from engine.case import files as case_files
from engine.errors import Conflict, Forbidden, Invalid
from engine.models.case import CASE_STAGES, CASE_STATUSES, RISK_LEVELS, ContactMethod, ContactType, ReferralSource
from engine.people import access, directory
from engine.process import positions, reassignment
from engine.service_ops.translations import N_
from webui.api.bounds import CASE_CODE
from webui.extensions import runtime, uow
from webui.pages.common import page_blueprint, page_number, require_roles
from webui.pages.form_display import error_titles, errors_in_words

bp = page_blueprint("pages_cases", __name__)

PAGE_SIZE = 50
CASE_ROLES = ("caseworker", "supervisor", "director", "committee_member", "admin")
REFERRAL_SOURCES = tuple((source.value, source.label) for source in ReferralSource)  # DOMAIN §2 step 1
SEX_CHOICES = (("", N_("Not recorded")), ("female", N_("Female")), ("male", N_("Male")), ("other", N_("Other")))
REFERRAL_FIELDS = ("source", "primary_concern", "referred_by", "name", "date_of_birth", "sex")
REFERRAL_WORDS = {  # each field's label and what to do when it is missing (shown in the page's language)
    "referral.source": (N_("Referred by"), N_("Choose where the referral came from.")),
    "referral.referred_by": (N_("Referring person or agency"), N_("Fill this in.")),
    "referral.primary_concern": (N_("Primary concern"), N_("Write what the concern is.")),
    "client.name": (N_("Name"), N_("Write the person's name.")),
    "client.date_of_birth": (N_("Date of birth"), N_("Give the date of birth.")),
    "client.sex": (N_("Sex"), N_("Choose one of the answers.")),
}
NOTE_FIELDS = ("kind", "contact_type", "contact_method", "contact_at", "text", "confidential")
FORM_TOKEN_MAX = 100
FILE_REQUESTERS = (("client", N_("The child or young person")), ("caregiver", N_("Their caregiver")))


@bp.get("/cases")
@require_roles(*CASE_ROLES)
def case_list():
    filters = {key: request.args.get(key) or None for key in ("status", "stage", "risk_level")}
    filters = {k: v for k, v in filters.items() if v in {"status": CASE_STATUSES, "stage": CASE_STAGES,
                                                          "risk_level": RISK_LEVELS}[k]}
    page = page_number(request.args.get("page"))
    with uow() as work:
        rows, total = case_lists.list_cases(work.session, current_user.id, limit=PAGE_SIZE,
                                              offset=(page - 1) * PAGE_SIZE, **filters)
        may_refer = access.may_refer(directory.get_user(work.session, current_user.id))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template("cases.html", rows=rows, total=total, page=page, pages=pages, filters=filters,
                           statuses=CASE_STATUSES, stages=CASE_STAGES, risks=RISK_LEVELS, may_refer=may_refer)


# -- a new referral ---------------------------------------------------------------------------------
def _referral_page(values: dict, form_token: str, errors: dict | None = None, duplicates=(), status: int = 200):
    words = {field: (_(title), _(missing)) for field, (title, missing) in REFERRAL_WORDS.items()}
    return render_template("referral.html", values=values, errors=errors_in_words(errors or {}, words),
                           error_titles=error_titles(words),
                           sources=[(value, _(label)) for value, label in REFERRAL_SOURCES],
                           sexes=[(value, _(label)) for value, label in SEX_CHOICES], form_token=form_token,
                           duplicates=duplicates), status


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new_referral():
    values = {k: (request.form.get(k) or "").strip() for k in REFERRAL_FIELDS}
    with uow() as work:
        if not access.may_refer(directory.get_user(work.session, current_user.id)):
            raise Forbidden("only caseworkers, supervisors and the director take referrals")
    if request.method == "GET":
        return _referral_page(values, secrets.token_urlsafe(24))
    form_token = (request.form.get("form_token") or "").strip()[:FORM_TOKEN_MAX] or secrets.token_urlsafe(24)
    referral = {"source": values["source"], "primary_concern": values["primary_concern"],
                "referred_by": values["referred_by"] or None}
    client = {"name": values["name"], "date_of_birth": values["date_of_birth"] or None, "sex": values["sex"] or None}
    link_to = (request.form.get("link_to") or "").strip()[:40] or None
    choice = request.form.get("choice") or (intake.LINK if link_to else None)
    with uow() as work:
        try:
            outcome = intake.submit_referral_form(work, runtime(), current_user.id, referral, client, form_token,
                                                  choice=choice, link_to=link_to)
        except Invalid as err:
            return _referral_page(values, form_token, err.errors, status=422)
    if outcome.duplicates:
        return _referral_page(values, form_token, duplicates=outcome.duplicates)
    code = outcome.case_code
    if outcome.repeated:
        flash(_("This form was sent before: the referral is case %(code)s. Nothing new was recorded.", code=code),
              "info")
    elif outcome.linked:
        flash(_("The referral was added to case %(code)s. Its caseworker and supervisor are told.", code=code), "info")
    else:
        flash(_("Referral recorded as case %(code)s. Its first task is in the inbox of whoever screens it.", code=code),
              "info")
    return redirect(url_for("pages_cases.case_file", code=code))


# -- the case file ----------------------------------------------------------------------------------
def _note_values(form=None) -> dict:
    """The note form's values: what was sent, or for a new form a contact happening now."""
    if form is not None:
        return {k: (form.get(k) or "") for k in NOTE_FIELDS}
    values = {k: "" for k in NOTE_FIELDS}
    values.update(kind="contact", contact_at=clock.now().strftime("%Y-%m-%dT%H:%M"))
    return values


def _case_file_page(code: str, note_values: dict | None = None, note_errors: dict | None = None,
                    status: int = 200, consult_about: str = "", consult_error: str | None = None):
    with uow() as work:
        record = case_files.get_case_file(work, current_user.id, code)
        may_consult = consultation.may_ask(directory.get_user(work.session, current_user.id), record.case)
        where = positions.case_positions(work.session, record.case.code)
        caseworkers = directory.people_with_role(work.session, "caseworker") if record.may_hand_over else []
        choices = reassignment.reassignment_choices(work.session, current_user.id, record.open_tasks)
    return render_template("case_file.html", f=record, case=record.case, confidential=record.confidential,
                           positions=where, may_hand_over=record.may_hand_over, caseworkers=caseworkers,
                           reassign_choices=choices, note=note_values or _note_values(),
                           note_errors=note_errors or {}, contact_types=list(ContactType),
                           contact_methods=list(ContactMethod), note_max=notes.NOTE_MAX,
                           file_requesters=[(value, _(label)) for value, label in FILE_REQUESTERS],
                           may_consult=may_consult, consult_about=consult_about, consult_error=consult_error,
                           consult_max=consultation.ABOUT_MAX), status


@bp.get(f"/cases/<{CASE_CODE}:code>")
@login_required
def case_file(code: str):
    return _case_file_page(code)


@bp.post(f"/cases/<{CASE_CODE}:code>/notes")
@login_required
def add_note(code: str):
    """A contact or a note added from the case file (R33), at any time."""
    values = _note_values(request.form)
    contact = values["kind"] == "contact"
    with uow() as work:
        try:
            notes.add_case_note(work, current_user.id, code, kind=values["kind"], text=request.form.get("text"),
                                contact_type=values["contact_type"] or None if contact else None,
                                contact_method=values["contact_method"] or None if contact else None,
                                contact_at=values["contact_at"] if contact else None,
                                confidential=values["confidential"] == "yes")
        except Invalid as err:
            return _case_file_page(code, values, err.errors, status=422)
    secret = values["confidential"] == "yes"
    flash({(True, True): _("Your contact is in the strictly confidential section."),
           (True, False): _("Your contact is in the case file."),
           (False, True): _("Your note is in the strictly confidential section."),
           (False, False): _("Your note is in the case file.")}[(contact, secret)], "info")
    return redirect(url_for("pages_cases.case_file", code=code) + ("#confidential-heading"
                                                                   if values["confidential"] == "yes"
                                                                   else "#notes-heading"))


@bp.post(f"/cases/<{CASE_CODE}:code>/file-requests")
@login_required
def request_file(code: str):
    """The client (or their caregiver) asked to see their own case file (R51): its caseworker,
    a supervisor or the director records it here; the request task then waits in the inbox."""
    requested_by = request.form.get("requested_by") or ""
    with uow() as work:
        try:
            file_release.request_file_release(work, runtime(), current_user.id, code, requested_by)
        except Invalid:
            flash(_("Say who asks to see the file: the child or young person, or their caregiver."), "error")
            return redirect(url_for("pages_cases.case_file", code=code) + "#file-request-heading")
        except Conflict as err:
            flash(_("The strictly confidential section is locked during the emergency. A request to see the file "
                    "can be recorded once a director unlocks it.") if err.details.get("locked")
                  else _("A request to see this case file is already being handled. Finish it before recording "
                         "another."), "error")
            return redirect(url_for("pages_cases.case_file", code=code) + "#file-request-heading")
    flash(_("The request to see the case file is recorded. Its task is in the caseworker's inbox; a supervisor "
            "screens the file before anything is shared."), "info")
    return redirect(url_for("pages_cases.case_file", code=code) + "#open-heading")


@bp.post(f"/cases/<{CASE_CODE}:code>/consultations")
@login_required
def ask_consultation(code: str):
    """The case's caseworker asks for an urgent consultation (R49): it goes to the case's
    supervisor, to the project director when the supervisor is absent or has not answered in time."""
    about = request.form.get("about") or ""
    with uow() as work:
        try:
            consultation.request_consultation(work, runtime(), current_user.id, code, about)
        except Invalid:
            words = (_("Say what the consultation is about.") if not about.strip() else
                     _("Shorten it to %(max)s characters or fewer.", max=format_number(consultation.ABOUT_MAX)))
            return _case_file_page(code, status=422, consult_about=about, consult_error=words)
        except Conflict:
            flash(_("An urgent consultation on this case is already waiting for its answer."), "error")
            return redirect(url_for("pages_cases.case_file", code=code) + "#consultation-heading")
    flash(_("Your request for an urgent consultation is sent. The supervisor answers it, or the project director "
            "when the supervisor is absent or does not answer in time."), "info")
    return redirect(url_for("pages_cases.case_file", code=code) + "#open-heading")


@bp.get(f"/cases/<{CASE_CODE}:code>/summary")
@login_required
def case_summary(code: str):
    """The case summary to print: the R33 header on top, then where the case stands."""
    with uow() as work:
        record = case_files.get_case_file(work, current_user.id, code)
    return render_template("case_summary.html", f=record, case=record.case, printed_at=clock.now())


@bp.app_template_filter("source_label")
def source_label(value: str | None) -> str:
    return _(ReferralSource.label_of(value))
