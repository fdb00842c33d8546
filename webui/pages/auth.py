"""Sign in and out of the browser app: a CSRF-protected form, a server-side session per
sign-in (ended on sign-out), the same rate limits as the API, and a ``next`` page that
can only be one of ours."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_login import UserMixin, current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.errors import Unauthorized
from engine.people import sessions
from engine.service_ops.translations import N_
from webui.auth import end_browser_session, password_sign_in, sign_in_limits, start_browser_session, web_secret
from webui.extensions import login_manager, retry_after_seconds, uow
from webui.pages.common import page_blueprint

bp = page_blueprint("pages_auth", __name__)
WAIT_HINT = N_("After several failed attempts, signing in pauses for a few minutes: wait, then try again.")


@dataclass
class SessionUser(UserMixin):
    id: int
    username: str
    display_name: str
    roles: frozenset
    locale: str | None = None  # the language this user chose (webui.i18n); None: the browser's

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


@login_manager.user_loader
def load_user(user_id: str):
    """The signed-in user while this browser's session is live on the server; None
    (signed out) once it was ended or expired, or the account deactivated."""
    try:
        wanted = int(user_id)
    except ValueError:
        return None
    with uow() as work:
        user = sessions.web_user(work, web_secret(), wanted)
    if user is None:
        return None
    return SessionUser(user.id, user.username, user.display_name, frozenset(user.roles), user.locale)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits
def login():
    next_path = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or url_for("pages_inbox.inbox"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            signed_in = password_sign_in(form.username.data, form.password.data, sessions.SessionKind.WEB)
        except Unauthorized as err:
            flash(f"{err.message}. {_(WAIT_HINT)}", "error")
            status = 401
        else:
            start_browser_session(signed_in, SessionUser(signed_in.user_id, signed_in.username,
                                                         signed_in.display_name, signed_in.roles))
            return redirect(next_path or url_for("pages_inbox.inbox"))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, next_path=next_path), status


@bp.errorhandler(RateLimitExceeded)
def too_many_sign_ins(_err: RateLimitExceeded):
    wait = retry_after_seconds()
    flash(_("Too many failed sign-ins from here or for this username. Try again in %(wait)s.", wait=_in_words(wait)),
          "error")
    page = render_template("login.html", form=LoginForm(), next_path=safe_next(request.args.get("next")))
    return page, 429, {"Retry-After": str(wait)}


@bp.post("/logout")
def logout():
    end_browser_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("pages_auth.login"))


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (the caller goes to the inbox).

    Refused: anything that is not a plain path, and anything a browser would read
    differently from us — browsers drop tabs and newlines and read a backslash as a
    slash, so ``/\\t/evil.com`` or ``/\\\\evil.com`` would take the user to another host."""
    if not isinstance(target, str) or not target or len(target) > 2000:
        return None
    if not target.isprintable() or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return ngettext("%(num)s second", "%(num)s seconds", seconds)
    return ngettext("%(num)s minute", "%(num)s minutes", round(seconds / 60))
