"""Resolve a password from its configured source: password_command (through the
shell, like mbsync's PassCmd), password_env, or the system keyring (imported lazily).

Every password obtained is registered with mailcli.redact so it never reaches a log.
Never prompts unless the caller passes a prompt function (the CLI does so only on a TTY).
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from mailcli.config.schema import Secret
from mailcli.errors import CredentialError
from mailcli.redact import register_secret

if TYPE_CHECKING:
    from mailcli.config.schema import AccountConfig, SmtpConfig

COMMAND_TIMEOUT = 30.0
KEYRING_SERVICE = "mailcli"


def resolve_password(secret: Secret, account: str,
                     prompt: Callable[[str], str] | None = None) -> str:
    """Return the password for `account`, or raise CredentialError (never with the secret)."""
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


def _from_keyring(user: str, account: str, prompt: Callable[[str], str] | None) -> str:
    password = None
    failure = None
    try:
        import keyring
        import keyring.errors

        try:
            password = keyring.get_password(KEYRING_SERVICE, user)
        except keyring.errors.KeyringError as exc:
            failure = str(exc) or type(exc).__name__
    except Exception as exc:  # a broken backend can raise anything at import or call
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
    except Exception as exc:
        raise CredentialError(
            f"account {account!r}: cannot store the password: the system keyring is not usable ({exc})",
            "set password_command or password_env in the config instead") from None


# ---------- credential objects (the protocol layer sees only these) ----------
class Credentials:
    """What a login needs: the user name and a password or an OAuth2 access token.
    Subclasses resolve lazily, cache for the run and register secrets for redaction."""

    username: str
    kind: Literal["password", "oauth2"]

    def secret(self) -> str:
        raise CredentialError(f"{self.username!r}: this account does not log in with a password")

    def token(self, *, force_refresh: bool = False) -> str:
        raise CredentialError(f"{self.username!r}: this account does not use OAuth2")


class PasswordCredentials(Credentials):
    kind: Literal["password", "oauth2"] = "password"

    def __init__(self, username: str, source: Secret | str, account: str = "",
                 prompt: Callable[[str], str] | None = None) -> None:
        self.username = username
        self._source, self._account, self._prompt = source, account, prompt
        self._password: str | None = source if isinstance(source, str) else None
        if self._password:
            register_secret(self._password)

    def secret(self) -> str:
        if self._password is None:
            assert isinstance(self._source, Secret)
            self._password = resolve_password(self._source, self._account, self._prompt)
        return self._password


def as_credentials(value: "Credentials | str", username: str) -> Credentials:
    """Accept a plain password where Credentials are expected (older callers, tests)."""
    return value if isinstance(value, Credentials) else PasswordCredentials(username, value)


def credentials_for(cfg: "AccountConfig | SmtpConfig", account: str,
                    prompt: Callable[[str], str] | None = None) -> Credentials:
    """The credentials an account (or its SMTP section) logs in with. `account` names it
    in errors and prompts ("work", "work.smtp"). Nothing is resolved yet."""
    oauth2 = getattr(cfg, "oauth2", None)
    if getattr(cfg, "auth", "password") == "oauth2" and oauth2 is not None:
        from mailcli.config.oauth2 import OAuth2Credentials

        return OAuth2Credentials(account, cfg.username, oauth2)
    return PasswordCredentials(cfg.username, cfg.secret, account, prompt)
