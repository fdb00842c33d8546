"""Administrators' pages for people and teams: who has an account, their roles, supervisor,
team and availability; adding someone, changing them, setting a password, marking leave,
deactivating. Thin: each form calls one use case of engine.people.administration."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from engine.errors import Invalid, NotFound
from engine.models.people import Role
from engine.people import administration
from engine.people.administration import PersonChanges
from engine.service_ops.translations import N_
from webui.extensions import uow
from webui.pages.common import page_blueprint, require_roles

bp = page_blueprint("pages_admin", __name__)
ADMIN_ROLES = ("admin",)
MOST_LISTED = 2000  # accounts on one page; an agency has far fewer
USERNAME = "string(maxlength=80)"
ROLE_CHOICES = [(role.value, role.label) for role in Role]


def _field(name: str, most: int = 1024) -> str:
    value = request.form.get(name, "")
    return value[:most] if isinstance(value, str) else ""


def _optional(name: str, most: int) -> str | None:
    return _field(name, most).strip() or None


def _roles_ticked() -> list[str]:
    return [role for role in request.form.getlist("roles")[:len(ROLE_CHOICES)] if isinstance(role, str)]


def _directory(values: dict | None = None, errors: dict | None = None, status: int = 200):
    """The people page, with the add form holding ``values`` and ``errors`` after a refusal."""
    with uow() as work:
        people, total = administration.list_people(work, current_user.id, limit=MOST_LISTED)
    with uow() as work:
        teams = administration.list_teams(work, current_user.id)
    page = render_template("admin_people.html", active=[p for p in people if p.active],
                           inactive=[p for p in people if not p.active], total=total, teams=teams,
                           supervisors=_supervisors(people), role_choices=ROLE_CHOICES,
                           values=values or {}, errors=errors or {})
    return page, status


def _supervisors(people) -> list[tuple[str, str]]:
    return [(p.username, p.display_name) for p in people
            if p.active and set(p.roles) & set(administration.SUPERVISING_ROLES)]


@bp.get("/admin/people")
@require_roles(*ADMIN_ROLES)
def people():
    return _directory()


@bp.post("/admin/people")
@require_roles(*ADMIN_ROLES)
def add_person():
    values = {"username": _field("username", 80).strip(), "display_name": _field("display_name", 200),
              "email": _optional("email", 254), "roles": _roles_ticked(),
              "supervisor": _optional("supervisor", 80), "team": _optional("team", 120)}
    try:
        with uow() as work:
            person = administration.add_person(work, current_user.id, values["username"], _field("password"),
                                               values["roles"], display_name=values["display_name"],
                                               supervisor=values["supervisor"], team=values["team"],
                                               email=values["email"])
    except Invalid as err:
        flash(_("Not added: %(why)s.", why=err.message), "error")
        return _directory(values, err.errors, 422)
    flash(_("Added %(name)s (%(username)s). They can sign in with the password you gave.", name=person.display_name,
            username=person.username), "info")
    return redirect(url_for("pages_admin.person", username=person.username))


@bp.post("/admin/teams")
@require_roles(*ADMIN_ROLES)
def add_team():
    try:
        with uow() as work:
            name = administration.add_team(work, current_user.id, _field("name", 120))
    except Invalid as err:
        flash(_("No team added: %(why)s.", why=err.message), "error")
    else:
        flash(_("Added the team %(name)s.", name=name), "info")
    return redirect(url_for("pages_admin.people") + "#teams")


def _person_page(username: str, errors: dict | None = None, status: int = 200):
    with uow() as work:
        person = administration.get_person(work, current_user.id, username)
    with uow() as work:
        everyone, _total = administration.list_people(work, current_user.id, active=True, limit=MOST_LISTED)
    with uow() as work:
        teams = administration.list_teams(work, current_user.id)
    supervisors = [(name, label) for name, label in _supervisors(everyone) if name != person.username]
    return render_template("admin_person.html", person=person, teams=teams, supervisors=supervisors,
                           role_choices=ROLE_CHOICES, errors=errors or {}, is_me=person.id == current_user.id), status


@bp.get(f"/admin/people/<{USERNAME}:username>")
@require_roles(*ADMIN_ROLES)
def person(username: str):
    return _person_page(username)


def _change(username: str, changes: PersonChanges, done: str):
    """Apply one form's changes; on a refusal show the page again with the reasons. ``done``: the
    message said then (its English, marked with ``N_``; shown in the page's language)."""
    try:
        with uow() as work:
            outcome = administration.change_person(work, current_user.id, username, changes)
    except Invalid as err:
        flash(_("Not changed: %(why)s.", why=err.message), "error")
        return _person_page(username, err.errors, 422)
    except NotFound as err:
        flash(err.message, "error")
        return redirect(url_for("pages_admin.people"))
    extra = []
    if outcome.sessions_ended:
        extra.append(ngettext("%(num)s sign-in ended", "%(num)s sign-ins ended", outcome.sessions_ended))
    if outcome.tasks_handed_back:
        n = outcome.tasks_handed_back
        extra.append(ngettext("%(num)s claimed task went back to its role for others to take",
                              "%(num)s claimed tasks went back to their roles for others to take", n))
    flash(_(done, name=outcome.person.display_name) + (f" ({'; '.join(extra)})" if extra else "") + ".", "info")
    return redirect(url_for("pages_admin.person", username=outcome.person.username))


@bp.post(f"/admin/people/<{USERNAME}:username>")
@require_roles(*ADMIN_ROLES)
def change_person(username: str):
    changes = PersonChanges(display_name=_field("display_name", 200), email=_optional("email", 254),
                            roles=_roles_ticked(), supervisor=_optional("supervisor", 80),
                            team=_optional("team", 120))
    return _change(username, changes, N_("Saved the changes to %(name)s"))


@bp.post(f"/admin/people/<{USERNAME}:username>/availability")
@require_roles(*ADMIN_ROLES)
def availability(username: str):
    available = _field("available", 5) == "yes"
    return _change(username, PersonChanges(available=available),
                   N_("%(name)s is available again") if available
                   else N_("%(name)s is on leave: new work passes them by"))


@bp.post(f"/admin/people/<{USERNAME}:username>/password")
@require_roles(*ADMIN_ROLES)
def password(username: str):
    return _change(username, PersonChanges(password=_field("password")),
                   N_("Set a new password for %(name)s; they sign in again with it"))


@bp.post(f"/admin/people/<{USERNAME}:username>/active")
@require_roles(*ADMIN_ROLES)
def active(username: str):
    activate = _field("active", 5) == "yes"
    return _change(username, PersonChanges(active=activate),
                   N_("%(name)s can sign in again") if activate else N_("Deactivated %(name)s: they cannot sign in"))


@bp.post(f"/admin/people/<{USERNAME}:username>/single-sign-on")
@require_roles(*ADMIN_ROLES)
def single_sign_on(username: str):
    return _change(username, PersonChanges(single_sign_on=False),
                   N_("Unlinked %(name)s from single sign-on"))
