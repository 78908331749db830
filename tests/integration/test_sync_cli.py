"""`python -m mailcli fetch` as a process: the lock between two concurrent runs, several
accounts with one failing, --json, --quiet and --dry-run."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fakes.proxy import TcpProxy
from tests.integration.mailboxes import assert_cache_matches, data_dir, message, run_cli
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


class GatedProxy(TcpProxy):
    """Forwards to the server only once `gate` is set: a fetch connecting through it holds
    its account lock for as long as the test wants."""

    def __init__(self, target_port: int) -> None:
        super().__init__(target_port)
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def _serve(self, client: socket.socket) -> None:
        self.waiting.set()
        self.gate.wait(30)
        super()._serve(client)


def test_two_concurrent_fetches_one_exits_75_the_other_finishes(dovecot: Dovecot, write_config,
                                                               tmp_path: Path) -> None:  # noqa: ANN001
    u = dovecot.add_user()
    spec = write_config(protocol="imap", name="work", user=u)
    dovecot.seed(u, [message(i, lines=2) for i in range(300)])
    with GatedProxy(spec.port) as proxy:
        cfg = tmp_path / "config.toml"
        cfg.write_text(cfg.read_text().replace(f"port = {spec.port}", f"port = {proxy.port}"))
        first = subprocess.Popen([sys.executable, "-m", "mailcli", "fetch"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        assert proxy.waiting.wait(30), "the first fetch never connected"
        lock = data_dir() / "locks" / "work.lock"
        deadline = time.monotonic() + 10   # (it connects while it loads, then locks)
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.02)
        assert lock.read_text().strip() == str(first.pid)       # it holds the lock
        t0 = time.monotonic()
        second = run_cli("fetch")
        assert second.returncode == 75, second.stderr
        assert time.monotonic() - t0 < 10 and "already being synced" in second.stderr
        proxy.gate.set()
        _out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert_cache_matches(dovecot, u, "work")
        again = run_cli("fetch", "--json")
    doc = json.loads(again.stdout)
    assert again.returncode == 0 and doc["accounts"][0]["new"] == 0


def test_several_accounts_one_failing_exit_1_others_done(dovecot: Dovecot, write_config,
                                                        tmp_path: Path) -> None:  # noqa: ANN001
    a, b = dovecot.add_user(), dovecot.add_user()
    write_config(protocol="imap", name="a", user=a)
    write_config(protocol="imap", name="broken", user="nosuchuser")
    write_config(protocol="pop3", name="b", user=b)
    dovecot.seed(a, [message(i) for i in range(3)])
    dovecot.seed(b, [message(i, "p") for i in range(2)])
    r = run_cli("fetch", "--json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    by = {x["account"]: x for x in doc["accounts"]}
    assert doc["ok"] is False
    assert (by["a"]["ok"], by["a"]["new"], by["b"]["ok"], by["b"]["new"]) == (True, 3, True, 2)
    assert by["broken"]["ok"] is False and by["broken"]["error"]
    assert {"account", "protocol", "ok", "new", "updated", "deleted", "uploaded", "error"} <= set(by["a"])
    assert "broken" in r.stderr


def test_quiet_prints_nothing_when_all_is_well_and_dry_run_prints_the_plan(dovecot: Dovecot,
                                                                           write_config) -> None:  # noqa: ANN001
    u = dovecot.add_user()
    write_config(protocol="imap", name="work", user=u)
    dovecot.seed(u, [message(i) for i in range(4)])
    r = run_cli("fetch", "--dry-run")
    assert r.returncode == 0 and "download 4 messages" in r.stdout
    assert not (data_dir() / "mail" / "work" / "INBOX" / "cur").exists() or \
        not any((data_dir() / "mail" / "work" / "INBOX" / "cur").iterdir())
    r = run_cli("fetch", "--quiet")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert_cache_matches(dovecot, u, "work")
