"""Single sign-on with the organisation's OpenID Connect provider (off unless ``OIDC_ISSUER``
is set): ``/login/sso`` sends the browser to the provider, ``/login/sso/callback`` takes it back.

Authlib's Flask client runs the authorization-code flow with PKCE (S256), a ``state`` kept in
this browser's signed session cookie and a ``nonce``; the ID token's signature is checked
against the provider's published keys (JWKS, fetched again for a key it does not know yet),
and its issuer, audience (our client id), expiry and nonce are checked too. The provider's
metadata comes from ``<issuer>/.well-known/openid-configuration`` at the first sign-in (so
the app starts while the provider is down), and must name the configured issuer. Only
asymmetric signatures are accepted (RS256 and the like), whatever the provider lists.

Who the verified identity is here, how roles follow its groups and who is refused is
engine.people.single_sign_on's; the session it starts is the one a password sign-in starts.
Anything that goes wrong on the way — the person declined, a stale or forged ``state``, a
token that does not verify, a provider out of reach — is a page in words, never a 500.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_login import current_user
from joserfc.errors import JoseError

from engine.people import single_sign_on
from engine.settings import Settings
from webui.auth import session_lifetime, start_browser_session
from webui.extensions import uow
from webui.pages.auth import SessionUser, safe_next
from webui.pages.common import page_blueprint

log = logging.getLogger(__name__)
bp = page_blueprint("pages_sso", __name__)
EXTENSION = "single_sign_on"
CLIENT_NAME = "oidc"
NEXT_KEY = "sso_next"  # where to go after the provider sends the browser back
TIMEOUT_S = 10  # each call to the provider (metadata, keys, token)
LEEWAY_S = 60  # clock difference allowed with the provider
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
ERROR_CODE = re.compile(r"[a-z_]{1,40}")


class ProviderUnusable(Exception):
    """The provider's metadata cannot be used (it names another issuer, lacks an endpoint)."""


@dataclass(frozen=True)
class Provider:
    """The configured provider, as this app uses it."""
    name: str
    issuer: str
    client_id: str
    groups_claim: str
    policy: single_sign_on.Policy
    oauth: OAuth
    redirect_uri: str | None

    def client(self):
        client = self.oauth.create_client(CLIENT_NAME)
        metadata = client.load_server_metadata()
        if str(metadata.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
            raise ProviderUnusable(f"its metadata names the issuer {metadata.get('issuer')!r}")
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(metadata.get(endpoint), str):
                raise ProviderUnusable(f"its metadata has no {endpoint}")
        offered = metadata.get("id_token_signing_alg_values_supported")
        usable = [a for a in offered if a in SIGNING_ALGORITHMS] if isinstance(offered, list) else []
        metadata["id_token_signing_alg_values_supported"] = usable or ["RS256"]
        return client


def install(app: Flask, settings: Settings) -> None:
    """Set single sign-on up from ``settings`` (nothing when ``OIDC_ISSUER`` is unset). A
    setting that cannot work (no client id, a mistyped role map) stops the app at start-up."""
    app.extensions[EXTENSION] = None
    if not settings.single_sign_on:
        return
    issuer = str(settings.oidc_issuer)
    if not settings.oidc_client_id:
        raise RuntimeError("OIDC_CLIENT_ID must be set when OIDC_ISSUER is")
    if not issuer.startswith(("https://", "http://")):
        raise RuntimeError(f"OIDC_ISSUER must be the provider's https:// address, not {issuer!r}")
    policy = single_sign_on.Policy(single_sign_on.parse_role_map(settings.oidc_role_map),
                                   settings.oidc_create_users)
    client_kwargs = {"scope": settings.oidc_scopes, "code_challenge_method": "S256", "default_timeout": TIMEOUT_S}
    if not settings.oidc_client_secret:
        client_kwargs["token_endpoint_auth_method"] = "none"  # a public client: PKCE alone
    oauth = OAuth(app)
    oauth.register(CLIENT_NAME, client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret or None,
                   server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
                   client_kwargs=client_kwargs)
    app.extensions[EXTENSION] = Provider(settings.oidc_provider_name, issuer, settings.oidc_client_id,
                                         settings.oidc_groups_claim, policy, oauth, settings.oidc_redirect_uri)


def _provider() -> Provider | None:
    return current_app.extensions.get(EXTENSION)


@bp.app_context_processor
def _sign_in_choices() -> dict:
    """``sso_provider_name`` for the sign-in page's button (None: single sign-on is off)."""
    provider = _provider()
    return {"sso_provider_name": provider.name if provider else None}


def _page(status: int, message: str):
    return render_template("error.html", status=status, message=message, errors={}), status


def _off():
    return _page(404, _("Single sign-on is not set up for this service. Sign in with your username and password."))


def _unreachable(provider: Provider, err: Exception):
    log.warning("single sign-on provider %s unusable: %s", provider.issuer, err)
    return _page(502, _("The single sign-on provider (%(provider)s) cannot be reached or answered in a way we "
                        "cannot use. Nothing changed here. Try again in a moment, or sign in with your username "
                        "and password.", provider=provider.name))


@bp.get("/login/sso")
def start():
    """Send the browser to the provider (``?next=`` a page of ours to land on after)."""
    provider = _provider()
    if provider is None:
        return _off()
    next_path = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or url_for("pages_inbox.inbox"))
    try:
        client = provider.client()
        cookie_session[NEXT_KEY] = next_path
        return client.authorize_redirect(provider.redirect_uri or url_for(".callback", _external=True))
    except (requests.RequestException, ValueError, ProviderUnusable, AuthlibBaseError) as err:
        return _unreachable(provider, err)


@bp.get("/login/sso/callback")
def callback():
    """The provider sends the browser back here: verify its answer, then sign the person in."""
    provider = _provider()
    if provider is None:
        return _off()
    refused = _provider_error(provider)
    if refused is not None:
        return refused
    try:
        client = provider.client()
        claims_options = {"iss": {"essential": True, "value": client.server_metadata["issuer"]},
                          "aud": {"essential": True, "value": provider.client_id},
                          "sub": {"essential": True}}
        token = client.authorize_access_token(claims_options=claims_options, leeway=LEEWAY_S)
    except MismatchingStateError:
        log.info("single sign-on answer with an unknown or stale state refused")
        return _page(400, _("This sign-in did not start in this browser, or it started too long ago, so it was "
                            "not accepted. Nothing changed here. Start again from the sign-in page."))
    except JoseError as err:
        log.warning("single sign-on ID token refused: %s", err)
        return _not_verified(provider)
    except (requests.RequestException, ValueError, ProviderUnusable, AuthlibBaseError) as err:
        return _unreachable(provider, err)
    claims = token.get("userinfo")
    if not claims:
        log.warning("single sign-on token answer without an ID token refused")
        return _not_verified(provider)
    identity = single_sign_on.Identity.from_claims(claims, provider.groups_claim)
    try:
        with uow() as work:
            signed_in = single_sign_on.sign_in(work, identity, provider.policy, session_lifetime())
    except single_sign_on.Refused as err:
        return _page(403, _refusal(err.reason, provider))
    start_browser_session(signed_in, SessionUser(signed_in.user_id, signed_in.username, signed_in.display_name,
                                                 signed_in.roles))
    return redirect(safe_next(cookie_session.pop(NEXT_KEY, None)) or url_for("pages_inbox.inbox"))


def _provider_error(provider: Provider):
    """A page in words when the provider sent back an error instead of a code. Its own
    description is not shown: anyone can put text in that link."""
    error = request.args.get("error")
    if error is None:
        return None
    code = error if ERROR_CODE.fullmatch(error) else "unknown_error"
    log.info("single sign-on provider answered error=%s", code)
    if code == "access_denied":
        return _page(403, _("The sign-in was declined at %(provider)s: you cancelled it, or the provider did not "
                            "let you into this service. Nothing changed here. You can start again, or sign in with "
                            "your username and password.", provider=provider.name))
    return _page(400, _("The single sign-on provider (%(provider)s) could not sign you in (it answered "
                        "“%(code)s”). Nothing changed here. Try again in a moment, or sign in with your username "
                        "and password.", provider=provider.name, code=code))


def _not_verified(provider: Provider):
    return _page(400, _("The answer from the single sign-on provider (%(provider)s) could not be verified, so it "
                        "was not trusted and nobody was signed in. Start again from the sign-in page; tell an "
                        "administrator if it keeps happening.", provider=provider.name))


def _refusal(reason: str, provider: Provider) -> str:
    """Why this person cannot sign in, in words."""
    if reason == "deactivated":
        return _("Your account here is deactivated, so you cannot sign in, with %(provider)s or otherwise. Ask an "
                 "administrator if you think this is a mistake.", provider=provider.name)
    if reason == "locked":
        return _("Your account here is locked by an administrator for now. Ask an administrator to unlock it.")
    if reason == "no_role":
        return _("Your groups at %(provider)s give you no role in this service, so there is nothing you could do "
                 "here. Ask an administrator which group you need.", provider=provider.name)
    if reason == "last_admin":
        return _("Your groups at %(provider)s no longer give you the administrator role, and the service would be "
                 "left without an active administrator. Nothing changed. Ask for the group at the provider, or "
                 "sign in with your password.", provider=provider.name)
    return _("No account here belongs to you yet. Ask an administrator to add you with the e-mail address "
             "%(provider)s has for you (verified there), then sign in again.", provider=provider.name)
