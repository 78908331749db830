"""Which Account class serves a protocol ("imap" -> ImapAccount, "pop3" -> Pop3Account),
and what each protocol's accounts are like (`traits_for`), so that the layers above ask
"does the server keep folders?" instead of "is this IMAP?".

The implementations (and imapclient/poplib) are imported only when an account is opened,
so commands that never talk to a server do not pay for them.
"""
from __future__ import annotations

from dataclasses import dataclass

from mailcli.accounts.base import Account
from mailcli.config.credentials import Credentials
from mailcli.config.schema import AccountConfig
from mailcli.errors import ConfigError


@dataclass(frozen=True)
class ProtocolTraits:
    """What a protocol's accounts are, whatever the server's extensions (those are the
    connected Account's `capabilities`): known from the config, before connecting."""

    server_folders: bool   # the server keeps folders (Sent, Drafts, roles); a folder must exist there
    server_uids: bool      # a cached message has a server UID: flags, moves and deletes are queued for it
    can_append: bool       # messages can be uploaded: Sent copies and drafts are kept on the server
    maildrop: bool         # a POP3 maildrop: downloaded through the pop_* methods; big ones partially


IMAP = ProtocolTraits(server_folders=True, server_uids=True, can_append=True, maildrop=False)
POP3 = ProtocolTraits(server_folders=False, server_uids=False, can_append=False, maildrop=True)
_TRAITS = {"imap": IMAP, "pop3": POP3}


def traits_for(config: AccountConfig) -> ProtocolTraits:
    """The traits of `config`'s protocol (ConfigError for an unknown one)."""
    try:
        return _TRAITS[config.protocol]
    except KeyError:
        raise _unknown(config) from None


def open_account(config: AccountConfig, credentials: Credentials) -> Account:
    """An unconnected Account for `config`; use it as a context manager (connects on enter,
    which is when `credentials` are first asked for the password)."""
    if config.protocol == "imap":
        from mailcli.accounts.imap import ImapAccount

        return ImapAccount(config, credentials)
    if config.protocol == "pop3":
        from mailcli.accounts.pop3 import Pop3Account

        return Pop3Account(config, credentials)
    raise _unknown(config)


def _unknown(config: AccountConfig) -> ConfigError:
    return ConfigError(f"account {config.name!r}: unknown protocol {config.protocol!r}",
                       hint='use protocol = "imap" or "pop3"')
