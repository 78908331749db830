"""OAuth2Credentials: an account's access token, from its stored grant or its
`oauth2_token_command`.

- With `oauth2_token_command`, the command runs for each connection (each `token()`
  call) and its first output line is the access token (how oama and mutt_oauth2.py
  users work).
- Otherwise the refresh token is read from the token store (keyring or file), the
  access token is fetched with it and kept in memory for the run, refreshed a minute
  before it expires and when the protocol layer asks for `force_refresh` after a
  refused login. A rotated refresh token (Microsoft rotates them) is stored again.
  A refused grant is exit 3 with the hint to run `mailcli account authorize NAME`.

Every token and the client secret are registered for redaction.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Literal

from mailcli import paths
from mailcli.config.credentials import Credentials, _from_command
from mailcli.config.schema import OAuth2Config
from mailcli.errors import AuthError, CredentialError
from mailcli.oauth2.client import Endpoints, GrantRefused, Token, refresh
from mailcli.oauth2.store import FileTokenStore, KeyringTokenStore, TokenStore
from mailcli.redact import register_secret

logger = logging.getLogger(__name__)

REFRESH_MARGIN = 60.0         # seconds before expiry at which a cached token is renewed


class _Cached:
    """The run's access token, shared by the objects of one sign-in (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: Token | None = None


class OAuth2Credentials(Credentials):
    kind: Literal["password", "oauth2"] = "oauth2"

    def __init__(self, account: str, username: str, settings: OAuth2Config) -> None:
        self.account = account
        self.username = username
        self.settings = settings
        self._state = _Cached()

    def for_username(self, username: str) -> OAuth2Credentials:
        """The same sign-in under another login name (an SMTP section with its own
        username), sharing this object's access token."""
        if username == self.username:
            return self
        other = OAuth2Credentials(self.account, username, self.settings)
        other._state = self._state
        return other

    @property
    def data_dir(self) -> Path:
        """The data dir (MAILCLI_DATA > [general] data_dir > XDG), for the file store."""
        configured = self.settings.data_dir
        return paths.default_data_dir(str(configured) if configured else None)

    def secret(self) -> str:
        raise CredentialError(f"account {self.account!r} signs in with OAuth2, not a password")

    # ---------- where things are ----------
    def store(self) -> TokenStore:
        if self.settings.token_store == "file":
            return FileTokenStore(self.data_dir, self.account)
        return KeyringTokenStore(self.account)

    def endpoints(self) -> Endpoints:
        s = self.settings
        secret = s.client_secret
        if s.client_secret_command:
            secret = _from_command(s.client_secret_command, self.account)
        if secret:
            register_secret(secret)
        return Endpoints(client_id=s.client_id, token_url=s.token_url, authorize_url=s.authorize_url,
                         device_url=s.device_url, scopes=s.scopes, client_secret=secret,
                         authorize_params=s.authorize_params)

    def _hint(self) -> str:
        return f"run 'mailcli account authorize {self.account}' to sign in again"

    # ---------- tokens ----------
    def token(self, *, force_refresh: bool = False) -> str:
        if self.settings.token_command:
            return self._from_command()
        with self._state.lock:
            t = self._state.token
            if t is not None and not force_refresh and t.expires_at - REFRESH_MARGIN > time.time():
                return t.access_token
            self._state.token = self._refresh()
            return self._state.token.access_token

    def _from_command(self) -> str:
        try:
            token = _from_command(self.settings.token_command or "", self.account)
        except CredentialError as exc:
            raise CredentialError(exc.message.replace("password_command", "oauth2_token_command")
                                  .replace("printed no password", "printed no token"), exc.hint) from None
        token = token.strip()
        register_secret(token)
        return token

    def _refresh(self) -> Token:
        store = self.store()
        grant = store.load()
        if grant is None:
            raise AuthError(f"account {self.account!r} has no OAuth2 sign-in yet",
                            f"run 'mailcli account authorize {self.account}'")
        try:
            token = refresh(self.endpoints(), grant["refresh_token"])
        except GrantRefused as exc:
            raise AuthError(f"account {self.account!r}: {exc.message}", self._hint()) from None
        if token.refresh_token and token.refresh_token != grant["refresh_token"]:
            logger.debug("oauth2: the provider rotated the refresh token; storing the new one")
            self.save(token, grant)
        logger.debug("oauth2: access token for %s valid for %.0f s", self.account,
                     token.expires_at - time.time())
        return token

    def save(self, token: Token, previous: dict[str, Any] | None = None) -> str:
        """Store the grant of a fresh sign-in (or a rotated refresh token); returns where."""
        refresh_token = token.refresh_token or (previous or {}).get("refresh_token")
        if not refresh_token:
            raise AuthError(f"account {self.account!r}: the provider sent no refresh token",
                            "check that the scopes include offline access (oauth2_scopes)")
        store = self.store()
        store.save({"refresh_token": refresh_token, "token_url": self.settings.token_url,
                    "client_id": self.settings.client_id, "scope": token.scope,
                    "obtained": int(time.time())})
        with self._state.lock:
            self._state.token = token
        return store.where
