"""Sign in and out of the browser app (sessions, CSRF-protected form, lock-out)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.errors import Unauthorized
from engine.people import accounts, directory
from webui.extensions import login_manager, uow
from webui.pages.common import page_blueprint

bp = page_blueprint("pages_auth", __name__)


@dataclass
class SessionUser(UserMixin):
    id: int
    username: str
    display_name: str
    roles: frozenset

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


@login_manager.user_loader
def load_user(user_id: str):
    with uow() as work:
        try:
            user = directory.get_user(work.session, int(user_id))
        except (Unauthorized, ValueError):
            return None
        return SessionUser(user.id, user.username, user.display_name, frozenset(user.roles))


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("pages_inbox.inbox"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        with uow() as work:
            try:
                user = accounts.authenticate(work, form.username.data, form.password.data)
            except Unauthorized as err:
                flash(err.message, "error")
                status = 401
            else:
                login_user(SessionUser(user.id, user.username, user.display_name, frozenset(user.roles)))
                return redirect(safe_next(request.args.get("next")) or url_for("pages_inbox.inbox"))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("pages_auth.login"))


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect a login to another host."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None
