"""The interactive grants behind `mailcli account authorize`.

- Authorization code with PKCE (S256) and a loopback redirect (RFC 8252): a one-shot
  HTTP listener on 127.0.0.1 with a random port, a random `state` checked on return
  (oauthlib's parse raises on a mismatch), the code exchanged for tokens, and a short
  page served to the browser saying how it went (plain text in HTML, escaped).
- Device authorization (RFC 8628): the verification URL and user code are shown, the
  token endpoint is polled every `interval` seconds, `slow_down` adds 5 seconds,
  `authorization_pending` waits, `access_denied`/`expired_token` end it.

Nothing is stored here: the caller saves the Token it gets back, so Ctrl+C at any
point leaves the old grant untouched.
"""
from __future__ import annotations

import html
import json
import logging
import secrets
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from mailcli.errors import AuthError
from mailcli.oauth2.client import Endpoints, Token, error_for, parse_token, post_form, secure_form

logger = logging.getLogger(__name__)

SLOW_DOWN_STEP = 5.0          # RFC 8628 3.5: add 5 seconds to the interval on slow_down
LISTEN_TIMEOUT = 300.0        # how long the loopback listener waits for the browser
_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>mailcli</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:4em auto"><h1>{title}</h1><p>{text}</p>
</body></html>"""


def _page(title: str, text: str) -> bytes:
    return _PAGE.format(title=html.escape(title), text=html.escape(text)).encode("utf-8")


def authorization_url(ep: Endpoints, redirect_uri: str, state: str, verifier: str) -> str:
    from oauthlib.oauth2 import WebApplicationClient

    client = WebApplicationClient(ep.client_id)
    url, prefix = secure_form(ep.authorize_url)
    challenge = client.create_code_challenge(verifier, "S256")
    uri = client.prepare_request_uri(url, redirect_uri=redirect_uri, scope=list(ep.scopes),
                                     state=state, code_challenge=challenge,
                                     code_challenge_method="S256", **dict(ep.authorize_params))
    return str(prefix + uri[len("https://"):] if prefix else uri)


def authorize_code(ep: Endpoints, say: Callable[[str], None],
                   open_url: Callable[[str], bool] | None = None,
                   timeout: float = LISTEN_TIMEOUT) -> Token:
    """Run the authorization code flow; the Token, or AuthError (denied, wrong state,
    timed out), TemporaryError (token endpoint unreachable)."""
    from oauthlib.oauth2 import WebApplicationClient

    client = WebApplicationClient(ep.client_id)
    verifier = client.create_code_verifier(64)
    state = secrets.token_urlsafe(24)
    outcome: dict[str, object] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            query = urllib.parse.urlsplit(self.path).query
            params = dict(urllib.parse.parse_qsl(query))
            if "code" not in params and "error" not in params:
                self.send_error(404)          # favicon.ico and friends
                return
            try:
                outcome["token"] = _exchange(ep, client, redirect_uri, state, verifier, query)
                status, body = 200, _page("Signed in", "mailcli has its token. You can close this "
                                          "tab and go back to the terminal.")
            except AuthError as exc:
                outcome["error"] = exc
                status, body = 400, _page("Sign-in failed", exc.message)
            except Exception as exc:  # noqa: BLE001 - reported in the terminal, not here
                outcome["error"] = exc
                status, body = 500, _page("Sign-in failed", "see the terminal for details")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    try:
        redirect_uri = f"http://127.0.0.1:{httpd.server_address[1]}/"
        url = authorization_url(ep, redirect_uri, state, verifier)
        opened = False
        if open_url is not None:
            say("Opening the provider's sign-in page in your browser ...")
            opened = bool(open_url(url))
        if not opened:
            say("Open this address in a browser and sign in:")
        say(url if not opened else f"(if no browser opened, visit: {url})")
        say(f"Waiting for the browser to come back to {redirect_uri} ...")
        deadline = time.monotonic() + timeout
        httpd.timeout = 0.5
        while not outcome:
            if time.monotonic() > deadline:
                raise AuthError(f"no answer from the browser within {timeout:.0f} s",
                                "run the command again, or use --device")
            httpd.handle_request()
    finally:
        httpd.server_close()
    if "error" in outcome:
        err = outcome["error"]
        raise err if isinstance(err, BaseException) else AuthError(str(err))
    token = outcome["token"]
    assert isinstance(token, Token)
    return token


def _exchange(ep: Endpoints, client: Any, redirect_uri: str, state: str, verifier: str,
              query: str) -> Token:
    from oauthlib.oauth2 import OAuth2Error
    from oauthlib.oauth2.rfc6749.errors import MismatchingStateError

    try:
        # oauthlib wants https; the loopback redirect is http by design (RFC 8252)
        params = client.parse_request_uri_response("https://127.0.0.1/?" + query, state=state)
    except MismatchingStateError:
        raise AuthError("sign-in refused: the answer's state does not match this request "
                        "(it was not started by this mailcli)", "run the command again") from None
    except OAuth2Error as exc:
        if exc.error == "access_denied":
            raise AuthError("sign-in was denied at the provider"
                            + (f": {exc.description}" if exc.description else ""),
                            "run the command again and allow access") from None
        raise error_for(exc.error, exc.description, "sign-in") from None
    body = client.prepare_request_body(
        code=params["code"], redirect_uri=redirect_uri, code_verifier=verifier,
        include_client_id=True, **({"client_secret": ep.client_secret} if ep.client_secret else {}))
    status, text = post_form(ep.token_url, body, "OAuth2 code exchange")
    return parse_token(text, "OAuth2 code exchange")


def device_flow(ep: Endpoints, say: Callable[[str], None],
                sleep: Callable[[float], None] = time.sleep) -> Token:
    """Run the RFC 8628 device flow; the Token, or AuthError (denied, expired)."""
    from oauthlib.oauth2 import DeviceClient

    if not ep.device_url:
        raise AuthError("this provider has no device authorization endpoint",
                        "set oauth2_device_url, or sign in without --device")
    body = urllib.parse.urlencode({"client_id": ep.client_id, "scope": " ".join(ep.scopes)})
    status, text = post_form(ep.device_url, body, "OAuth2 device authorization")
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict) or status != 200 or "device_code" not in info:
        err = info.get("error") if isinstance(info, dict) else None
        desc = info.get("error_description") if isinstance(info, dict) else None
        raise error_for(err or f"HTTP {status}", desc, "OAuth2 device authorization")
    # Google says verification_url, the RFC verification_uri
    uri = info.get("verification_uri") or info.get("verification_url") or ""
    say(f"To sign in, open {uri} in any browser and enter the code: {info.get('user_code', '')}")
    interval = _number(info.get("interval"), 5.0)
    deadline = time.monotonic() + _number(info.get("expires_in"), 900.0)
    client = DeviceClient(ep.client_id)
    poll = client.prepare_request_body(
        info["device_code"], include_client_id=True,
        **({"client_secret": ep.client_secret} if ep.client_secret else {}))
    say("Waiting for you to sign in (Ctrl+C to give up) ...")
    while True:
        sleep(interval)
        if time.monotonic() > deadline:
            raise AuthError("the device code expired before the sign-in was finished",
                            "run the command again")
        status, text = post_form(ep.token_url, poll, "OAuth2 device flow")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        error = answer.get("error") if isinstance(answer, dict) else None
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_STEP
            logger.debug("oauth2: slow_down, polling every %.0f s now", interval)
            continue
        if error == "access_denied":
            raise AuthError("sign-in was denied at the provider", "run the command again and allow access")
        if error == "expired_token":
            raise AuthError("the device code expired before the sign-in was finished",
                            "run the command again")
        return parse_token(text, "OAuth2 device flow")


def _number(value: object, default: float) -> float:
    try:
        n = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return n if n >= 0 else default

