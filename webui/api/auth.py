"""``POST /api/auth/token``: credentials in, bearer token out; ``/logout`` ends it;
``/password`` changes one's own password (ending every session and token)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.people import accounts, sessions
from webui.auth import (
    bearer_token,
    current_user_id,
    end_browser_session,
    password_sign_in,
    session_lifetime,
    sign_in_limits,
)
from webui.extensions import uow

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign in for API access")


class CredentialsSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)
    username = fields.String(required=True)
    roles = fields.List(fields.String())


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


@blp.post("/token")
@blp.arguments(CredentialsSchema)
@blp.response(200, TokenSchema)
@sign_in_limits
def token(credentials):
    """Exchange a username and password for a bearer token, valid 12 hours unless ended
    sooner. Every refusal is the same 401; repeated failures are answered 429 with Retry-After."""
    lifetime = session_lifetime()
    signed_in = password_sign_in(credentials["username"], credentials["password"], sessions.SessionKind.API)
    return {"access_token": signed_in.secret, "token_type": "Bearer",
            "expires_in": int(lifetime.total_seconds()), "username": signed_in.username,
            "roles": sorted(signed_in.roles)}


@blp.post("/logout")
@blp.response(204)
def logout():
    """End the bearer token sent with this request: it is refused (401) from now on. Sent
    from a browser sign-in instead (with X-CSRFToken), it ends that sign-in."""
    token_sent = bearer_token()
    current_user_id()  # 401 unless the request is signed in
    if token_sent is None:
        end_browser_session()
        return
    with uow() as work:
        sessions.sign_out(work, token_sent, sessions.SessionKind.API)


@blp.post("/password")
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
def change_password(body):
    """Change my own password; every session and token of mine ends, this one included
    (422 if the current password is not right or the new one cannot be used)."""
    user_id = current_user_id()
    with uow() as work:
        accounts.change_password(work, user_id, body["current_password"], body["new_password"])
