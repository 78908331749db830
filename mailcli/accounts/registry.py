"""Which Account class serves a protocol: "imap" -> ImapAccount, "pop3" -> Pop3Account.

The implementations (and imapclient/poplib) are imported only when an account is opened,
so commands that never talk to a server do not pay for them.
"""
from __future__ import annotations

from mailcli.accounts.base import Account
from mailcli.config.schema import AccountConfig
from mailcli.errors import ConfigError


def open_account(config: AccountConfig, password: str) -> Account:
    """An unconnected Account for `config`; use it as a context manager (connects on enter)."""
    if config.protocol == "imap":
        from mailcli.accounts.imap import ImapAccount

        return ImapAccount(config, password)
    if config.protocol == "pop3":
        from mailcli.accounts.pop3 import Pop3Account

        return Pop3Account(config, password)
    raise ConfigError(f"account {config.name!r}: unknown protocol {config.protocol!r}",
                      hint='use protocol = "imap" or "pop3"')
