"""quota, account test and index rebuild: main paths against Dovecot, --json keys, errors."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mailcli.model import Quota
from tests.cli.conftest import Seeded, assert_one_line_error, make_message
from tests.helpers import invoke
from tests.servers.dovecot import Dovecot

QUOTA_KEYS = {"account", "used_bytes", "limit_bytes", "messages", "percent"}


def test_quota_imap_and_pop3(dovecot: Dovecot, write_config, mail_user: str) -> None:
    dovecot.deliver(mail_user, make_message("sized", "x" * 5000))
    write_config(name="work", user=mail_user)
    write_config(name="home", protocol="pop3", user=mail_user)
    r = invoke("quota", "--json")
    assert r.exit_code == 0, r
    doc = {q["account"]: q for q in json.loads(r.stdout)}
    assert set(doc) == {"work", "home"} and all(set(q) >= QUOTA_KEYS for q in doc.values())
    assert doc["work"]["limit_bytes"] == 1024 * 1024 * 1024 and doc["work"]["used_bytes"] > 5000
    assert doc["home"]["messages"] == 1
    r = invoke("quota", "work")
    assert r.exit_code == 0 and r.stdout.splitlines()[0].split()[:3] == ["ACCOUNT", "USED", "LIMIT"]
    assert r.stderr == ""  # far from full: no warning


def test_quota_warns_at_90_percent(write_config, monkeypatch: pytest.MonkeyPatch) -> None:
    from mailcli.service import Service

    write_config(name="work")
    monkeypatch.setattr(Service, "quota", lambda self, accounts=None, errors=None: [
        Quota("work", 950, 1000, 3), Quota("other", 10, 1000, 1)])
    r = invoke("quota")
    assert r.exit_code == 0
    assert "95.0%" in r.stdout
    assert r.stderr.strip() == "mailcli: warning: account work is 95.0 % full (950B of 1000B)"
    r = invoke("quota", "--json")
    assert json.loads(r.stdout)[0]["percent"] == 95.0


def test_quota_errors(write_config) -> None:
    write_config(name="work")
    assert_one_line_error(invoke("quota", "nosuch"), 4, "nosuch")
    os.environ.pop("MAILCLI_TEST_PASSWORD")
    assert_one_line_error(invoke("quota", "work"), 2, "MAILCLI_TEST_PASSWORD")


def test_account_test(write_config, dovecot: Dovecot) -> None:
    write_config(name="work")
    r = invoke("account", "test", "work", "--json")
    assert r.exit_code == 0, r
    doc = json.loads(r.stdout)
    assert set(doc) >= {"protocol", "server", "capabilities", "quota", "folders"}
    assert "IMAP4REV1" in [c.upper() for c in doc["capabilities"]] and doc["folders"] >= 1
    r = invoke("account", "test", "work")
    assert r.exit_code == 0 and "login ok" in r.stdout and "quota:" in r.stdout


def test_account_test_errors(write_config) -> None:
    write_config(name="work")
    assert_one_line_error(invoke("account", "test", "nosuch"), 4, "nosuch")
    os.environ["MAILCLI_TEST_PASSWORD"] = "wrong"
    assert_one_line_error(invoke("account", "test", "work"), 3)
    assert_one_line_error(invoke("account", "test"), 2, "missing argument")


def test_index_rebuild_keeps_ids(seeded: Seeded) -> None:
    before = json.loads(invoke("list", "--json").stdout)
    r = invoke("index", "rebuild", "--json")
    assert r.exit_code == 0, r
    doc = json.loads(r.stdout)
    assert doc == {"messages": 6, "folders": 2, "kept_ids": 6, "new_ids": 0, "outbox_restored": 0,
                   "leftover_words_dropped": 0}
    assert json.loads(invoke("list", "--json").stdout) == before
    r = invoke("index", "rebuild")
    assert r.exit_code == 0 and "indexed 6 messages in 2 folders" in r.stdout
    assert "dropped the words" not in r.stdout


def test_index_rebuild_says_how_many_deleted_messages_left_words_behind(seeded: Seeded) -> None:
    """A file another program (neomutt) deleted keeps its words in the index until a
    rebuild: the rebuild says so."""
    from mailcli.store import Store

    with Store(Path(seeded.data)) as st:
        row = st.list_envelopes()[0]
        st.path(row.id).unlink()
        st.scan_external_changes(row.account, row.folder)
    r = invoke("index", "rebuild", "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["leftover_words_dropped"] == 1
    r = invoke("index", "rebuild")
    assert r.exit_code == 0 and "dropped the words" not in r.stdout   # once


def test_index_rebuild_after_index_lost(seeded: Seeded) -> None:
    for p in Path(seeded.data).glob("index.sqlite3*"):
        p.unlink()
    r = invoke("index", "rebuild", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["messages"] == 6
    assert_one_line_error(invoke("index", "bogus"), 2, "no such command")
