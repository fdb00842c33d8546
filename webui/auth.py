"""Who is calling: a bearer token (API) or a login session (browser pages)."""
from __future__ import annotations

from flask import current_app, g, request
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from engine.errors import Unauthorized
from webui.extensions import csrf

TOKEN_MAX_AGE_S = 12 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def issue_token(user_id: int) -> str:
    return _serializer().dumps({"uid": user_id})


def user_id_from_token(token: str) -> int:
    try:
        payload = _serializer().loads(token, max_age=TOKEN_MAX_AGE_S)
    except SignatureExpired as err:
        raise Unauthorized("the token has expired; ask for a new one") from err
    except BadSignature as err:
        raise Unauthorized("the token is not valid") from err
    return int(payload["uid"])


def current_user_id() -> int:
    """The signed-in user's id, or ``Unauthorized`` (401)."""
    if "user_id" in g:
        return g.user_id
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        g.user_id = user_id_from_token(header[7:].strip())
    elif current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            # a browser session proves each change comes from our own pages (X-CSRFToken
            # header or csrf_token field); bearer tokens are not sent by browsers on their own
            csrf.protect()
        g.user_id = current_user.id
    else:
        raise Unauthorized("sign in, or send 'Authorization: Bearer <token>'")
    return g.user_id
