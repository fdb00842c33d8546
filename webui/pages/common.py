"""What every page blueprint shares: sign-in and role guards, and errors shown as pages.

API blueprints answer errors in JSON (webui/errors.py); a person in a browser gets a
readable page with a way back instead — for a busy database too (503 with Retry-After).
"""
from __future__ import annotations

import functools
import logging

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from engine.errors import DomainError, Forbidden, ServiceUnavailable, Unauthorized
from engine.service_ops.translations import N_
from webui.errors import is_database_unavailable, unavailable_for, with_retry_after
from webui.i18n import browser_locale, current_locale, text_direction
from webui.pages.labels import label

log = logging.getLogger(__name__)


def page_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A blueprint for a screen family, with its templates and HTML error pages."""
    bp = Blueprint(name, import_name, template_folder="templates", **kwargs)
    bp.register_error_handler(DomainError, _domain_error_page)
    bp.register_error_handler(CSRFError, _csrf_error_page)
    bp.register_error_handler(SQLAlchemyError, _database_error_page)
    bp.register_error_handler(Exception, _unexpected_page)
    return bp


def require_roles(*roles: str):
    """Signed in, and holding one of ``roles`` (403 page otherwise)."""
    def decorate(view):
        @functools.wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if roles and not current_user.has_role(*roles):
                raise Forbidden(_("this page is for %(roles)s", roles=_role_names(roles)))
            return view(*args, **kwargs)
        guarded.required_roles = roles  # the navigation shows a screen only to these roles
        return guarded
    return decorate


def _role_names(roles: tuple[str, ...]) -> str:
    if current_locale() == "en":
        return ", ".join(r.replace("_", " ") for r in roles)  # as English pages always said
    return "، ".join(label(r, "role") for r in roles)


def page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 1_000_000 else 1


def _domain_error_page(err: DomainError):
    if isinstance(err, Unauthorized) and not current_user.is_authenticated:
        return redirect(url_for("pages_auth.login", next=request.full_path.rstrip("?")))
    if isinstance(err, ServiceUnavailable):
        return with_retry_after(_unavailable_page(), err)
    return render_template("error.html", status=err.status, message=err.message, errors=err.errors), err.status


# werkzeug's own words for the errors a page can meet, marked so the catalogue translates them
HTTP_DESCRIPTIONS = frozenset({
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_("The requested URL was not found on the server. If you entered the URL manually please check your "
       "spelling and try again."),
    N_("The method is not allowed for the requested URL."),
    N_("The data value transmitted exceeds the capacity limit."),
    N_("You don't have the permission to access the requested resource. It is either read-protected or not "
       "readable by the server."),
})
BUSY_MESSAGE = N_("The service is busy and nothing was saved. Wait a moment, then go back and try again.")


def _unavailable_page():
    """Built without templates: the navigation and the signed-in user come from the very
    database that is out of reach."""
    with force_locale(browser_locale()):  # not the user's choice: that is in the database out of reach
        return Response(_busy_html(), status=503, mimetype="text/html")


def _busy_html() -> str:
    lang = current_locale()
    direction = ' dir="rtl"' if text_direction(lang) == "rtl" else ""
    busy = escape(_("Busy right now"))
    back = escape(_("Back to the inbox"))
    return (f'<!doctype html><html lang="{lang}"{direction}><head><meta charset="utf-8">'
            f'<title>{busy}</title>'
            f'<link rel="stylesheet" href="{escape(url_for("static", filename="app.css"))}"></head>'
            f'<body><main><section class="error-page"><h1>{busy}</h1>'
            f'<p role="alert">{escape(_(BUSY_MESSAGE))}</p>'
            f'<p><a href="{escape(url_for("pages_inbox.inbox"))}">{back}</a></p>'
            f'</section></main></body></html>')


def _database_error_page(err: SQLAlchemyError):
    if is_database_unavailable(err):
        return _domain_error_page(unavailable_for(err))
    return _unexpected_page(err)


def _unexpected_page(err: Exception):
    if isinstance(err, HTTPException):
        status = err.code or 500
        message = _(err.description) if err.description in HTTP_DESCRIPTIONS else err.description
        return render_template("error.html", status=status, message=message, errors={}), status
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_template("error.html", status=500, message=_("Something went wrong on our side; it has been "
                           "logged. Go back and try again, or tell an administrator if it keeps happening."),
                           errors={}), 500


def _csrf_error_page(err: CSRFError):
    log.info("refused a form without a valid CSRF token on %s", request.path)
    return render_template("error.html", status=400,
                           message=_("This form has expired or did not come from this site. "
                                     "Go back, reload the page and try again."), errors={}), 400
