"""My account: what each signed-in person chooses for themselves (their language)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from flask_login import current_user, login_required

from engine.people import preferences
from engine.people.languages import Language
from webui.extensions import uow
from webui.i18n import browser_locale
from webui.pages.common import page_blueprint

bp = page_blueprint("pages_account", __name__)


@bp.get("/account")
@login_required
def account():
    with uow() as work:
        chosen = preferences.language_of(work, current_user.id)
    return render_template("account.html", languages=list(Language), chosen=chosen or "")


@bp.post("/account/language")
@login_required
def choose_language():
    """Save the language chosen (CSRF-checked like every form); the next page is in it."""
    with uow() as work:
        chosen = preferences.set_language(work, current_user.id, request.form.get("locale") or None)
    with force_locale(chosen or browser_locale()):
        flash(gettext("Your language is saved: pages, messages and e-mails now use it."), "info")
    return redirect(url_for("pages_account.account"))
