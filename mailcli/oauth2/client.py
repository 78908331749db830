"""The token endpoint: requests built and responses parsed by oauthlib, sent with urllib.

Owns: `Endpoints` (what a provider and the user's client registration say), `Token`
(an access token with its expiry, and a refresh token when the server sent one),
`refresh()` and `post_token()`, and turning every failure into mailcli.errors:
`invalid_grant` is GrantRefused (exit 3, the caller adds the authorize hint), a server
that cannot be reached is TemporaryError, anything else a one-line AuthError. Every
token received is registered for redaction before anything else sees it.

oauthlib refuses http:// URLs outright; the config allows them only for loopback hosts
(tests, local bridges), so such URLs are given to oauthlib as https and put back after.
"""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from mailcli.errors import AuthError, TemporaryError
from mailcli.redact import register_secret

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0


class GrantRefused(AuthError):
    """The provider refused the refresh token or the grant (`invalid_grant`)."""


@dataclass(frozen=True)
class Endpoints:
    client_id: str
    token_url: str
    authorize_url: str = ""
    device_url: str | None = None
    scopes: tuple[str, ...] = ()
    client_secret: str | None = None
    authorize_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_at: float                  # time.time() seconds
    refresh_token: str | None = None
    scope: str | None = None


def secure_form(url: str) -> tuple[str, str]:
    """(url as oauthlib accepts it, the prefix to put back): http -> https for loopback."""
    if url.startswith("http://"):
        return "https://" + url[len("http://"):], "http://"
    return url, ""


def post_form(url: str, body: str, what: str, timeout: float = HTTP_TIMEOUT) -> tuple[int, str]:
    """POST an x-www-form-urlencoded body; (status, text). 4xx answers are returned (they
    carry the OAuth2 error); unreachable servers and 5xx are TemporaryError."""
    req = urllib.request.Request(url, data=body.encode("utf-8"), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
        "User-Agent": "mailcli"})
    host = urllib.parse.urlsplit(url).hostname
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) checked by config
            return resp.status, resp.read(1 << 20).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        text = exc.read(1 << 20).decode("utf-8", "replace")
        if exc.code >= 500:
            raise TemporaryError(f"{what}: {host} answered HTTP {exc.code}", "retry later") from None
        return exc.code, text
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TemporaryError(f"{what}: cannot reach {host}: {reason}", "retry later") from None


def _client(ep: Endpoints) -> Any:
    from oauthlib.oauth2 import WebApplicationClient

    return WebApplicationClient(ep.client_id)


def parse_token(text: str, what: str) -> Token:
    """A token response (oauthlib checks it); OAuth2 errors become mailcli errors."""
    from oauthlib.oauth2 import OAuth2Error

    try:
        raw = json.loads(text)
    except ValueError:
        raise AuthError(f"{what}: the token endpoint did not answer JSON") from None
    if isinstance(raw, dict):
        for key in ("access_token", "refresh_token"):
            if isinstance(raw.get(key), str):
                register_secret(raw[key])
    try:
        params = _client(Endpoints("", "")).parse_request_body_response(text)
    except OAuth2Error as exc:
        raise error_for(exc.error, exc.description, what) from None
    except (ValueError, Warning) as exc:
        raise AuthError(f"{what}: the token endpoint's answer is unusable: {str(exc)[:160]}") from None
    expires_in = params.get("expires_in")
    try:
        lifetime = float(expires_in) if expires_in is not None else 3600.0
    except (TypeError, ValueError):
        lifetime = 3600.0
    scope = params.get("scope")
    return Token(access_token=params["access_token"], expires_at=time.time() + lifetime,
                 refresh_token=params.get("refresh_token"),
                 scope=" ".join(scope) if isinstance(scope, list) else scope)


def _oneline(text: Any, limit: int = 160) -> str:
    s = " ".join(str(text).split())
    return "".join(c for c in s if c.isprintable())[:limit]


def error_for(error: str | None, description: str | None, what: str) -> AuthError:
    """The mailcli error for an OAuth2 error code (the server's text made one safe line)."""
    detail = _oneline(error or "error") + (f" ({_oneline(description)})" if description else "")
    if error == "invalid_grant":
        return GrantRefused(f"{what}: the provider refused the grant: {detail}")
    return AuthError(f"{what}: {detail}")


def post_token(ep: Endpoints, body: str, what: str) -> Token:
    _status, text = post_form(ep.token_url, body, what)
    return parse_token(text, what)


def refresh(ep: Endpoints, refresh_token: str) -> Token:
    """A new access token for a stored refresh token (GrantRefused when revoked)."""
    body = _client(ep).prepare_refresh_body(
        refresh_token=refresh_token, client_id=ep.client_id,
        **({"client_secret": ep.client_secret} if ep.client_secret else {}))
    logger.debug("oauth2: refreshing the access token at %s", ep.token_url)
    return post_token(ep, body, "OAuth2 token refresh")
