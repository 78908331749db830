"""The shared context of the service parts: the configured mailcli (config, data dir),
the store, passwords and account connections. Every part (reading, changing, syncing,
sending) gets one ServiceCore in its constructor; the Service façade builds them."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mailcli.config import Config
from mailcli.config.credentials import Credentials, PasswordCredentials, credentials_for
from mailcli.config.schema import AccountConfig

if TYPE_CHECKING:
    from mailcli.accounts.base import Account
    from mailcli.message.gnupg import GnuPG
    from mailcli.store import Store

logger = logging.getLogger(__name__)


class ServiceCore:
    """Config, data dir, store and connections. Thread-safe for the TUI's workers."""

    def __init__(self, config: Config, data_dir: Path,
                 prompt: Callable[[str], str] | None = None) -> None:
        self.config = config
        self.data_dir = data_dir
        self.prompt = prompt
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._credentials: dict[str, Credentials] = {}   # for the service's life
        # GnuPG's curses pinentry may use our terminal (the CLI); the TUI owns the screen
        self.pinentry_on_terminal = True

    # ---------- PGP ----------
    def gnupg(self) -> GnuPG:
        """GnuPG as the user has it (GNUPGHOME or the default home, the user's agent)."""
        from mailcli.message.gnupg import GnuPG

        return GnuPG(use_terminal=self.pinentry_on_terminal)

    # ---------- accounts ----------
    def account_configs(self, names: list[str] | None = None) -> list[AccountConfig]:
        """The named accounts (NotFoundError for an unknown one), or all."""
        if names:
            return [self.config.account(n) for n in names]
        return list(self.config.accounts.values())

    def account_config(self, name: str) -> AccountConfig:
        return self.config.account(name)

    # ---------- store ----------
    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                from mailcli.errors import ConfigError
                from mailcli.store import Store

                try:
                    self._store = Store(self.data_dir)
                except OSError as exc:
                    raise ConfigError(f"data dir {self.data_dir}: {exc.strerror or exc}",
                                      "set MAILCLI_DATA or data_dir in [general] to a "
                                      "writable directory") from None
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # ---------- connections ----------
    def credentials(self, cfg: AccountConfig) -> Credentials:
        """The account's credentials, one object for the service's life: its password is
        resolved on the first login and then reused by every connection."""
        with self._lock:
            if cfg.name not in self._credentials:
                self._credentials[cfg.name] = credentials_for(cfg, cfg.name, self.prompt)
            return self._credentials[cfg.name]

    def smtp_credentials(self, cfg: AccountConfig) -> Credentials:
        """The SMTP section's credentials: the account's own when it names the same
        password source (so the password is asked for once)."""
        assert cfg.smtp is not None
        from mailcli.config.oauth2 import OAuth2Credentials

        account = self.credentials(cfg)
        if cfg.smtp.secret == cfg.secret and isinstance(account, (PasswordCredentials,
                                                                  OAuth2Credentials)):
            return account.for_username(cfg.smtp.username)   # one password / one token
        key = cfg.name + ".smtp"
        with self._lock:
            if key not in self._credentials:
                self._credentials[key] = credentials_for(cfg.smtp, key, self.prompt)
            return self._credentials[key]

    def open_account(self, cfg: AccountConfig) -> Account:
        """A not-yet-connected Account for cfg (use it as a context manager)."""
        from mailcli.accounts.registry import open_account

        return open_account(cfg, self.credentials(cfg))
