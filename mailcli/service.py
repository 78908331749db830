"""THE API of mailcli for both shells (the click CLI and the Textual TUI).

Architecture (one-way flow):
    config -> accounts (protocol layer) -> sync / send -> store -> service -> cli / tui
The CLI and the TUI call only this module (plus mailcli.model / mailcli.errors types):
no SQL and no protocol calls in them. Every method returns model objects or raises
MailcliError subclasses; progress is reported through a sync Reporter (events).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from mailcli import paths
from mailcli.config import Config, load_config
from mailcli.config.schema import AccountConfig

logger = logging.getLogger(__name__)


class Service:
    """One configured mailcli: config, data dir, store, accounts."""

    def __init__(self, config: Config, data_dir: Path,
                 prompt: Callable[[str], str] | None = None) -> None:
        self.config = config
        self.data_dir = data_dir
        self.prompt = prompt
        self._store = None

    @classmethod
    def open(cls, config_path: str | Path | None = None, *, must_exist: bool = True,
             prompt: Callable[[str], str] | None = None) -> "Service":
        path = Path(config_path).expanduser() if config_path else paths.default_config_path()
        config = load_config(path, must_exist=must_exist)
        configured = str(config.general.data_dir) if config.general.data_dir else None
        return cls(config, paths.default_data_dir(configured), prompt)

    # ---------- accounts ----------
    def account_configs(self) -> list[AccountConfig]:
        return list(self.config.accounts.values())

    def account_config(self, name: str) -> AccountConfig:
        return self.config.account(name)
