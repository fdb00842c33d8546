"""What every page blueprint shares: sign-in and role guards, and errors shown as pages.

API blueprints answer errors in JSON (webui/errors.py); a person in a browser gets a
readable page with a way back instead — for a busy database too (503 with Retry-After).
"""
from __future__ import annotations

import functools
import logging

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from engine.errors import DomainError, Forbidden, ServiceUnavailable, Unauthorized
from webui.errors import is_database_unavailable, unavailable_for, with_retry_after

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
                raise Forbidden("this page is for " + ", ".join(r.replace("_", " ") for r in roles))
            return view(*args, **kwargs)
        guarded.required_roles = roles  # the navigation shows a screen only to these roles
        return guarded
    return decorate


def page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 1_000_000 else 1


def _domain_error_page(err: DomainError):
    if isinstance(err, Unauthorized) and not current_user.is_authenticated:
        return redirect(url_for("pages_auth.login", next=request.full_path.rstrip("?")))
    if isinstance(err, ServiceUnavailable):
        return with_retry_after(_unavailable_page(), err)
    return render_template("error.html", status=err.status, message=err.message, errors=err.errors), err.status


def _unavailable_page():
    """Built without templates: the navigation and the signed-in user come from the very
    database that is out of reach."""
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Busy right now</title>'
            f'<link rel="stylesheet" href="{escape(url_for("static", filename="app.css"))}"></head>'
            f'<body><main><section class="error-page"><h1>Busy right now</h1>'
            f'<p role="alert">The service is busy and nothing was saved. Wait a moment, then go back and try '
            f'again.</p><p><a href="{escape(url_for("pages_inbox.inbox"))}">Back to the inbox</a></p>'
            f'</section></main></body></html>')
    return Response(html, status=503, mimetype="text/html")


def _database_error_page(err: SQLAlchemyError):
    if is_database_unavailable(err):
        return _domain_error_page(unavailable_for(err))
    return _unexpected_page(err)


def _unexpected_page(err: Exception):
    if isinstance(err, HTTPException):
        status = err.code or 500
        return render_template("error.html", status=status, message=err.description, errors={}), status
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_template("error.html", status=500, message="Something went wrong on our side; it has been "
                           "logged. Go back and try again, or tell an administrator if it keeps happening.",
                           errors={}), 500


def _csrf_error_page(err: CSRFError):
    log.info("refused a form without a valid CSRF token on %s", request.path)
    return render_template("error.html", status=400,
                           message="This form has expired or did not come from this site. "
                                   "Go back, reload the page and try again.", errors={}), 400
