"""Where an account's OAuth2 grant (the refresh token) lives between runs.

Two stores: the system keyring (default; service "mailcli", user "<account>.oauth2")
and a file `<data>/oauth2/<account>.json` for headless machines, created 0600 in a
0700 directory and replaced atomically (temp file, fsync, rename, fsync dir) so a
crash or Ctrl+C leaves the old grant or the new one, never half of one. Access tokens
are never stored: they live in memory for one run.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from mailcli.errors import AuthError, CredentialError
from mailcli.paths import PRIVATE_FILE, make_private_dir
from mailcli.redact import register_secret

KEYRING_SERVICE = "mailcli"


class TokenStore(Protocol):
    where: str

    def load(self) -> dict[str, Any] | None: ...

    def save(self, grant: dict[str, Any]) -> None: ...


def _parse(text: str, account: str, where: str) -> dict[str, Any]:
    """A stored grant (its tokens registered for redaction); damaged is exit 3 + hint."""
    try:
        grant = json.loads(text)
    except ValueError:
        grant = None
    if not isinstance(grant, dict) or not isinstance(grant.get("refresh_token"), str):
        raise AuthError(f"account {account!r}: the OAuth2 grant in {where} is damaged",
                        f"run 'mailcli account authorize {account}' to sign in again")
    for key in ("refresh_token", "access_token"):
        if isinstance(grant.get(key), str):
            register_secret(grant[key])
    return grant


class FileTokenStore:
    def __init__(self, data_dir: Path, account: str) -> None:
        self.account = account
        self.path = Path(data_dir) / "oauth2" / f"{account}.json"
        self.where = str(self.path)

    def load(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CredentialError(f"account {self.account!r}: cannot read {self.path}: "
                                  f"{exc.strerror or exc}") from None
        return _parse(text, self.account, str(self.path))

    def save(self, grant: dict[str, Any]) -> None:
        make_private_dir(self.path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.account}.", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, PRIVATE_FILE)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(grant, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        dfd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class KeyringTokenStore:
    def __init__(self, account: str) -> None:
        self.account = account
        self.user = f"{account}.oauth2"
        self.where = f"the system keyring ({KEYRING_SERVICE}/{self.user})"

    def _unusable(self, exc: BaseException) -> CredentialError:
        return CredentialError(
            f"account {self.account!r}: the system keyring is not usable here "
            f"({type(exc).__name__}: {str(exc)[:120]})",
            'under cron or over ssh there is often no keyring: set oauth2_token_store = "file"')

    def load(self) -> dict[str, Any] | None:
        try:
            import keyring

            text = keyring.get_password(KEYRING_SERVICE, self.user)
        except Exception as exc:  # noqa: BLE001 - a broken backend can raise anything
            raise self._unusable(exc) from None
        if not text:
            return None
        return _parse(text, self.account, "the keyring")

    def save(self, grant: dict[str, Any]) -> None:
        try:
            import keyring

            keyring.set_password(KEYRING_SERVICE, self.user, json.dumps(grant))
        except Exception as exc:  # noqa: BLE001 - a broken keyring backend can raise anything
            raise self._unusable(exc) from None
