"""Credentials: what the protocol layer logs in with, as an object.

`credentials_for(config, account)` builds one from an account's (or its SMTP section's)
config. The password itself comes from the configured source, resolved lazily on the
first `secret()` (so a connection that never logs in never runs password_command or asks
the keyring) and cached for the object's life: a service that opens several connections
runs the command once. Sources: password_command (through the shell, like mbsync's
PassCmd), password_env, or the system keyring (imported lazily); a prompt only when the
caller passes a prompt function (the CLI does so only on a TTY).

Every password obtained is registered with mailcli.redact so it never reaches a log.
"""
from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

from mailcli.config.schema import AccountConfig, Secret, SmtpConfig
from mailcli.errors import CredentialError
from mailcli.redact import register_secret

COMMAND_TIMEOUT = 30.0
KEYRING_SERVICE = "mailcli"

Prompt = Callable[[str], str]


class Credentials(ABC):
    """What a login needs: the user name and a password (`secret()`) or, for OAuth2, an
    access token (`token()`). The protocol layer sees only this type."""

    username: str
    kind: Literal["password", "oauth2"]

    @abstractmethod
    def secret(self) -> str:
        """The password; resolved on the first call, then cached. CredentialError (never
        quoting the secret) when it cannot be obtained."""

    @abstractmethod
    def token(self, *, force_refresh: bool = False) -> str:
        """An OAuth2 access token (a fresh one with force_refresh, e.g. after the server
        refused the cached one)."""


class PasswordCredentials(Credentials):
    """A password from the config's Secret (command, env or keyring), or one given
    directly (`known()`, for `mailcli account add` testing a password it has not stored)."""

    kind: Literal["password", "oauth2"] = "password"

    def __init__(self, username: str, source: Secret, account: str,
                 prompt: Prompt | None = None) -> None:
        self.username = username
        self.account = account
        self._cache = _Cached(source, account, prompt)

    @classmethod
    def known(cls, username: str, password: str, account: str) -> PasswordCredentials:
        """Credentials for a password already in hand (registered for redaction now)."""
        register_secret(password)
        creds = cls(username, Secret(), account)
        creds._cache.value = password
        return creds

    def for_username(self, username: str) -> PasswordCredentials:
        """The same password under another login name, sharing this object's cache (an
        SMTP section with its own username and the account's password source)."""
        if username == self.username:
            return self
        other = PasswordCredentials(username, self._cache.source, self.account)
        other._cache = self._cache
        return other

    def secret(self) -> str:
        return self._cache.get()

    def token(self, *, force_refresh: bool = False) -> str:
        raise CredentialError(f"account {self.account!r} uses a password, not OAuth2",
                              "set up OAuth2 for this account to use a token")


class _Cached:
    """A password resolved at most once (thread-safe: the TUI's workers share a service)."""

    def __init__(self, source: Secret, account: str, prompt: Prompt | None) -> None:
        self.source, self.account, self.prompt = source, account, prompt
        self.value: str | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self.value is None:   # a failure is not cached: the next login asks again
                self.value = _resolve(self.source, self.account, self.prompt)
            return self.value


def credentials_for(cfg: AccountConfig | SmtpConfig, account: str,
                    prompt: Prompt | None = None) -> Credentials:
    """The credentials an account (or its SMTP section) logs in with. `account` names it
    in errors and prompts ("work", "work.smtp"). Nothing is resolved yet."""
    oauth2 = getattr(cfg, "oauth2", None)
    if getattr(cfg, "auth", "password") == "oauth2" and oauth2 is not None:
        from mailcli.config.oauth2 import OAuth2Credentials

        return OAuth2Credentials(account, cfg.username, oauth2)
    return PasswordCredentials(cfg.username, cfg.secret, account, prompt)


def as_credentials(value: Credentials | str, username: str) -> Credentials:
    """Accept a plain password where Credentials are expected (tests, `account add`)."""
    if isinstance(value, Credentials):
        return value
    return PasswordCredentials.known(username, value, username)


def _resolve(secret: Secret, account: str, prompt: Prompt | None = None) -> str:
    """The password for `account` from its source, registered for redaction; raises
    CredentialError (never with the secret). Uncached: PasswordCredentials caches."""
    if secret.command:
        password = _from_command(secret.command, account)
    elif secret.env:
        password = os.environ.get(secret.env, "")
        if not password:
            raise CredentialError(
                f"account {account!r}: environment variable {secret.env} is not set or empty",
                f"export {secret.env}=... before running mailcli, or use password_command")
    else:
        password = _from_keyring(secret.keyring_user or account, account, prompt)
    register_secret(password)
    return password


def _from_command(command: str, account: str) -> str:
    import subprocess  # only for password_command (start-up time of every command, issue 15)

    try:
        proc = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise CredentialError(
            f"account {account!r}: password_command did not finish within {COMMAND_TIMEOUT:.0f} s",
            "does it wait for input (a GPG pinentry under cron)?") from None
    except OSError as exc:
        raise CredentialError(f"account {account!r}: password_command could not run: {exc.strerror}") from None
    if proc.returncode != 0:
        # stderr of the command may be shown (it is not the password); stdout never is.
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        detail = f": {err[-1][:200]}" if err else ""
        raise CredentialError(
            f"account {account!r}: password_command failed with exit status {proc.returncode}{detail}")
    lines = proc.stdout.decode(errors="replace").splitlines()
    if not lines or not lines[0]:
        raise CredentialError(f"account {account!r}: password_command printed no password")
    return lines[0]


def _from_keyring(user: str, account: str, prompt: Prompt | None) -> str:
    password = None
    failure = None
    try:
        import keyring
        import keyring.errors

        try:
            password = keyring.get_password(KEYRING_SERVICE, user)
        except keyring.errors.KeyringError as exc:
            failure = str(exc) or type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - a broken backend can raise anything at import or call
        failure = f"{type(exc).__name__}: {exc}"
    if password:
        return password
    if prompt is not None:
        password = prompt(f"Password for {account}")
        if password:
            return password
    if failure:
        raise CredentialError(
            f"account {account!r}: no password: the system keyring is not usable here ({failure[:120]})",
            "under cron or over ssh there is often no keyring: set password_command or password_env")
    raise CredentialError(
        f"account {account!r}: no password configured",
        f"run 'mailcli account password {account}', or set password_command or password_env")


def store_password(account: str, password: str, user: str | None = None) -> None:
    """Save a password in the system keyring (for `mailcli account password`)."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, user or account, password)
    except Exception as exc:  # noqa: BLE001 - a broken keyring backend can raise anything
        raise CredentialError(
            f"account {account!r}: cannot store the password: the system keyring is not usable ({exc})",
            "set password_command or password_env in the config instead") from None
