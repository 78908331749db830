"""SASL for OAuth2 logins, shared by IMAP (AUTHENTICATE), POP3 (AUTH, RFC 5034) and
SMTP (AUTH, RFC 4954): which mechanism to use, the client's initial response, and one
forced token refresh after a refused login.

OAUTHBEARER (RFC 7628) when the server offers it, else XOAUTH2 (Google/Microsoft's
pre-standard one, also tried when the server lists neither: some list none before TLS).
Every encoded response is registered for redaction: it carries the token.
"""
from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable

from mailcli.config.credentials import Credentials
from mailcli.errors import AuthError
from mailcli.redact import register_secret

logger = logging.getLogger(__name__)

PREFERENCE = ("OAUTHBEARER", "XOAUTH2")


class SaslRefused(Exception):
    """The server answered the SASL exchange with a failure (its text is the message)."""


def choose(offered: Iterable[str]) -> str:
    have = {m.upper() for m in offered}
    for mech in PREFERENCE:
        if mech in have:
            return mech
    return "XOAUTH2"


def initial_response(mech: str, user: str, token: str, host: str, port: int) -> bytes:
    """The client's first message (raw; the protocol base64-encodes it)."""
    if mech == "OAUTHBEARER":
        authzid = user.replace("=", "=3D").replace(",", "=2C")
        raw = f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    else:
        raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    data = raw.encode("utf-8")
    register_secret(base64.b64encode(data).decode("ascii"))
    return data


def login(creds: Credentials, offered: Iterable[str], host: str, port: int,
          send: Callable[[str, bytes], None], account: str) -> str:
    """Log in with `send(mechanism, initial_response)` (raises SaslRefused on a refusal);
    on a refusal, once more with a freshly refreshed token. Returns the mechanism used."""
    mech = choose(offered)
    for attempt in (1, 2):
        token = creds.token(force_refresh=attempt == 2)
        logger.debug("> AUTH %s ******** (OAuth2, attempt %d)", mech, attempt)
        try:
            send(mech, initial_response(mech, creds.username, token, host, port))
            return mech
        except SaslRefused as exc:
            if attempt == 2:
                raise AuthError(
                    f"{host} refused the OAuth2 login ({mech}) for {creds.username!r}: {exc}",
                    f"check that username is the signed-in address; if it is, run "
                    f"'mailcli account authorize {account}'") from None
            logger.info("%s refused the OAuth2 token (%s); refreshing it once", host, exc)
    raise AssertionError("unreachable")


def challenge_responder(mech: str, first: bytes, sent_already: bool = False) -> Callable[[bytes], bytes]:
    """For a server that asks instead of taking the initial response: the first
    challenge gets it; a later one is the server's error report, answered with what
    lets it finish with a failure: ^A for OAUTHBEARER (RFC 7628 3.2.3), empty for XOAUTH2."""
    sent: list[bool] = [True] if sent_already else []

    def respond(_challenge: bytes) -> bytes:
        if not sent:
            sent.append(True)
            return first
        return b"\x01" if mech == "OAUTHBEARER" else b""

    return respond
