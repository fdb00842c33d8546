"""``POST /api/auth/token``: credentials in, bearer token out."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.people import accounts
from webui.auth import TOKEN_MAX_AGE_S, issue_token
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


@blp.post("/token")
@blp.arguments(CredentialsSchema)
@blp.response(200, TokenSchema)
def token(credentials):
    """Exchange a username and password for a bearer token (401 if wrong)."""
    with uow() as work:
        user = accounts.authenticate(work, credentials["username"], credentials["password"])
        return {"access_token": issue_token(user.id), "token_type": "Bearer",
                "expires_in": TOKEN_MAX_AGE_S, "username": user.username, "roles": sorted(user.roles)}
