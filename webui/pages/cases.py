"""Cases: the list I may see (by code), a new referral, and the case file — tracking
fields, history, referrals, tasks, the process diagram with the current position, and
the strictly confidential section for those allowed (R32, R33, R34)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.case import case_lists, intake
from engine.case import files as case_files
from engine.errors import Forbidden, Invalid
from engine.models.case import CASE_STAGES, CASE_STATUSES, RISK_LEVELS
from engine.people import access, directory
from engine.process import positions
from webui.api.bounds import CASE_CODE
from webui.extensions import runtime, uow
from webui.pages.common import page_blueprint, page_number, require_roles

bp = page_blueprint("pages_cases", __name__)

PAGE_SIZE = 50
CASE_ROLES = ("caseworker", "supervisor", "director", "committee_member", "admin")
REFERRAL_SOURCES = (  # DOMAIN §2 step 1 (001 §3.1, 003 §5.1.1)
    ("government", "Government authority"), ("ngo", "NGO"), ("community_organisation", "Community organisation"),
    ("un_agency", "UN agency"), ("community_member", "Community member"), ("self_referral", "Self-referral"),
    ("other_sector_staff", "Staff of another sector"))
SEX_CHOICES = (("", "Not recorded"), ("female", "Female"), ("male", "Male"), ("other", "Other"))


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


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new_referral():
    values = {k: (request.form.get(k) or "").strip() for k in
              ("source", "primary_concern", "referred_by", "name", "date_of_birth", "sex")}
    with uow() as work:
        if not access.may_refer(directory.get_user(work.session, current_user.id)):
            raise Forbidden("only caseworkers, supervisors and the director take referrals")
    if request.method == "GET":
        return render_template("referral.html", values=values, errors={}, sources=REFERRAL_SOURCES, sexes=SEX_CHOICES)
    referral = {"source": values["source"], "primary_concern": values["primary_concern"],
                "referred_by": values["referred_by"] or None}
    client = {"name": values["name"], "date_of_birth": values["date_of_birth"] or None, "sex": values["sex"] or None}
    with uow() as work:
        try:
            case = intake.create_referral(work, runtime(), current_user.id, referral, client)
        except Invalid as err:
            return render_template("referral.html", values=values, errors=err.errors, sources=REFERRAL_SOURCES,
                                   sexes=SEX_CHOICES), 422
        code = case.code
    flash(f"Referral recorded as case {code}. Its first task is in the inbox of whoever screens it.", "info")
    return redirect(url_for("pages_cases.case_file", code=code))


@bp.get(f"/cases/<{CASE_CODE}:code>")
@login_required
def case_file(code: str):
    with uow() as work:
        record = case_files.get_case_file(work, current_user.id, code)
        where = positions.case_positions(work.session, record.case.code)
        caseworkers = directory.people_with_role(work.session, "caseworker") if record.may_hand_over else []
    return render_template("case_file.html", f=record, case=record.case, confidential=record.confidential,
                           positions=where, may_hand_over=record.may_hand_over, caseworkers=caseworkers)


@bp.app_template_filter("source_label")
def source_label(value: str | None) -> str:
    return dict(REFERRAL_SOURCES).get(value or "", value or "—")

