"""Regressions found by the outside-in acceptance pass (mailcli run as a user would):
`search` with unquoted `-term` exclusions, and `account add` run without a terminal."""
from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from tests.cli.conftest import Seeded, assert_one_line_error
from tests.helpers import invoke
from tests.servers.dovecot import PASSWORD, Dovecot


def _ids(r) -> list[int]:
    assert r.exit_code == 0, r
    return sorted(m["id"] for m in json.loads(r.stdout))


def test_search_unquoted_exclusions_are_query_terms(seeded: Seeded) -> None:
    # SPEC: `-term` to exclude. Unquoted, click used to read `-is:read` as options -i -s ...
    # and fail with "No such option '-i'" (the --help example itself did).
    everything = _ids(invoke("search", "-subject:nomatch", "--json"))
    assert _ids(invoke("search", "is:unread", "-subject:evil", "--json")) == \
        _ids(invoke("search", "is:unread -subject:evil", "--json"))
    assert seeded.hostile not in _ids(invoke("search", "-n", "50", "-subject:evil", "--json"))
    # a word that starts like the -n option is a term too, and -n5 is still the limit
    newsletter_excluded = _ids(invoke("search", "--json", "-newsletter", "-n5"))
    assert seeded.html not in newsletter_excluded and len(newsletter_excluded) == 5
    assert seeded.html in everything
    # options anywhere still work; unknown --options and a missing value are usage errors
    assert len(_ids(invoke("search", "quarterly", "--limit=1", "--json"))) == 1
    assert_one_line_error(invoke("search", "quarterly", "--bogus"), 2, "no such option")
    assert_one_line_error(invoke("search", "quarterly", "-n"), 2, "requires an argument")
    assert invoke("search", "quarterly", "-h").stdout.startswith("Usage: mailcli search")


def _add(dovecot: Dovecot, user: str, protocol: str, port: int, *extra: str):
    return invoke("account", "add", "--name", "scripted", "--protocol", protocol,
                  "--host", "127.0.0.1", "--port", str(port), "--security", "tls",
                  "--tls-ca-file", str(dovecot.ca_file), "--username", user,
                  "--password-env", "MAILCLI_TEST_PASSWORD", *extra, input="")


def test_account_add_without_a_terminal(dovecot: Dovecot, mail_user: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # stdin at its end (a script, `< /dev/null`): used to print "interrupted", exit 130
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    config = Path(os.environ["MAILCLI_CONFIG"])
    r = _add(dovecot, mail_user, "pop3", dovecot.ports.pop3s)  # the POP3 deletion question
    assert_one_line_error(_last_lines(r), 2, "no answer for --leave-on-server")
    assert not config.exists()
    r = invoke("account", "add", input="")
    assert_one_line_error(_last_lines(r), 2, "no answer for --name")
    # the optional answers (email, display name) take their defaults
    r = _add(dovecot, mail_user, "imap", dovecot.ports.imaps)
    assert r.exit_code == 0, r
    account = tomllib.loads(config.read_text())["accounts"]["scripted"]
    assert "email" not in account and "name" not in account
    assert "added account 'scripted'" in r.stdout


def _last_lines(r):
    """The prompts asked before the input ended stay on stderr, each on its own line; the
    error must start a line of its own: check the error part only."""
    lines = r.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("mailcli: error: "))
    return type(r)(r.exit_code, r.stdout, "\n".join(lines[start:]) + "\n")


def test_damaged_index_says_how_to_recover(seeded: Seeded) -> None:
    # used to be "internal error: DatabaseError: file is not a database ... please report it"
    index = seeded.data / "index.sqlite3"
    for leftover in seeded.data.glob("index.sqlite3-*"):
        leftover.unlink()
    index.write_bytes(b"this is not an SQLite file\n" * 100)
    r = invoke("list", "--json")
    assert_one_line_error(r, 1, "the index is damaged")
    assert "mailcli index rebuild" in r.stderr
    index.unlink()  # what the hint says: then the rebuild brings every cached message back
    assert invoke("index", "rebuild").exit_code == 0
    assert seeded.plain and len(_ids(invoke("list", "--json"))) == 6
