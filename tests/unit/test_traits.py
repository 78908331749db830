"""Protocol traits: the layers above accounts/ ask what a protocol's accounts are like
(traits_for) and never branch on protocol names; POP3's methods are their own interface."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from mailcli.accounts.base import Account, Maildrop
from mailcli.accounts.registry import traits_for
from mailcli.errors import ConfigError
from tests.fakes.accounts import account_config

ROOT = Path(__file__).resolve().parents[2] / "mailcli"
# an account's (or its config's) protocol compared by name; `account add` asking the
# POP3-only questions of a protocol the user just typed is config, not a branch on an account
PROTOCOL_BRANCH = re.compile(r"\bis_imap\b|\.protocol\s*[!=]=|\.protocol\s+(?:not\s+)?in\b")


def test_traits_of_each_protocol() -> None:
    imap, pop3 = traits_for(account_config("imap", 1, "u")), traits_for(account_config("pop3", 1, "u"))
    assert (imap.server_folders, imap.server_uids, imap.can_append, imap.maildrop) == (True, True, True, False)
    assert (pop3.server_folders, pop3.server_uids, pop3.can_append, pop3.maildrop) == (False, False, False, True)
    with pytest.raises(ConfigError, match="unknown protocol 'jmap'"):
        traits_for(replace(account_config("imap", 1, "u"), protocol="jmap"))


@pytest.mark.parametrize("layer", ["service", "send", "sync", "store", "cli", "tui"])
def test_no_layer_above_accounts_branches_on_protocol_names(layer: str) -> None:
    hits = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for path in sorted((ROOT / layer).rglob("*.py"))
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if PROTOCOL_BRANCH.search(line)]
    assert hits == []


def test_pop3_methods_are_the_maildrop_interface() -> None:
    from mailcli.accounts.imap import ImapAccount
    from mailcli.accounts.pop3 import Pop3Account

    pop = {name for name in vars(Maildrop) if name.startswith("pop_")}
    assert pop == {"pop_list", "pop_retrieve", "pop_headers", "pop_delete", "pop_commit"}
    assert not any(hasattr(Account, name) or hasattr(ImapAccount, name) for name in pop)
    assert issubclass(Pop3Account, Maildrop) and not issubclass(ImapAccount, Maildrop)
    assert Account.atomic_move.fget is not None and isinstance(ImapAccount.atomic_move, property)
