"""The watcher under faults: a cut link (disconnected, then reconnected by itself, the
mail of the outage announced once), failing and hanging hooks, a cron fetch and a held
lock meanwhile, a refused login on one account of two, SIGTERM while waiting for a lock."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.integration.mailboxes import data_dir, message, run_cli
from tests.servers.dovecot import Dovecot
from tests.watch.helpers import SwitchProxy, WatchProcess, append, hook_command, hook_runs, wait_for

pytestmark = pytest.mark.dovecot


def _through(proxy: SwitchProxy, spec_port: int, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(cfg.read_text().replace(f"port = {spec_port}", f"port = {proxy.port}"))


def test_a_cut_link_reconnects_by_itself_and_announces_the_mail_of_the_outage_once(
        dovecot: Dovecot, write_config, tmp_path: Path) -> None:  # noqa: ANN001
    user = dovecot.add_user()
    command, out = hook_command(tmp_path)
    spec = write_config(user=user, extra=f'timeout = 5\npoll_interval = "30s"\non_new_mail = \'{command}\'\n')
    dovecot.seed(user, [message(0, "old")])
    with SwitchProxy(spec.port) as proxy:
        _through(proxy, spec.port, tmp_path)
        with WatchProcess() as w:
            w.wait("started", timeout=20)
            proxy.refusing.set()
            proxy.cut()
            w.wait("disconnected", timeout=10)
            append(dovecot, user, message(1, "outage"))     # straight to the server
            time.sleep(1.5)                                 # several reconnects are refused
            proxy.refusing.clear()
            w.wait("reconnected", timeout=10)
            got = w.wait("new_mail", timeout=10)[0]
            assert [m["subject"] for m in got["messages"]] == ["outage 1"]
            append(dovecot, user, message(2, "after"))
            w.wait("new_mail", timeout=5, count=2)
            assert w.terminate()[0] == 0
    assert len(w.of("disconnected")) == 1 and len(w.of("reconnected")) == 1
    subjects = [m["subject"] for e in w.of("new_mail") for m in e["messages"]]
    assert subjects == ["outage 1", "after 2"]                 # each once
    assert [r["stdin"][0]["subject"] for r in hook_runs(out)] == ["outage 1", "after 2"]


def test_a_stalled_link_is_noticed_and_left(dovecot: Dovecot, write_config,
                                            tmp_path: Path) -> None:  # noqa: ANN001
    """Nothing comes back and nothing is closed (a NAT forgot the connection): the liveness
    check after each IDLE period (here 1 s; 45 s by default) times out (timeout = 2)."""
    user = dovecot.add_user()
    spec = write_config(user=user, extra='timeout = 2\npoll_interval = "30s"\n')
    with SwitchProxy(spec.port) as proxy:
        _through(proxy, spec.port, tmp_path)
        with WatchProcess(env={"MAILCLI_WATCH_KEEPALIVE": "1"}) as w:
            w.wait("started", timeout=20)
            proxy.stalled.set()
            began = time.monotonic()
            w.wait("disconnected", timeout=15)
            assert time.monotonic() - began < 10
            proxy.stalled.clear()
            w.wait("reconnected", timeout=15)
            append(dovecot, user, message(1, "alive"))
            assert w.wait("new_mail", timeout=5)[0]["messages"][0]["subject"] == "alive 1"
            assert w.terminate()[0] == 0


def test_sigterm_on_a_stalled_link_exits_0_within_5_s(dovecot: Dovecot, write_config,
                                                      tmp_path: Path) -> None:  # noqa: ANN001
    """The polite LOGOUT would wait for the 60 s timeout: stopping shuts the link instead."""
    user = dovecot.add_user()
    spec = write_config(user=user, extra='poll_interval = "30s"\n')
    with SwitchProxy(spec.port) as proxy:
        _through(proxy, spec.port, tmp_path)
        with WatchProcess() as w:
            w.wait("started", timeout=20)
            proxy.stalled.set()
            time.sleep(0.5)
            code, took = w.terminate()
    assert code == 0 and took < 5
    assert w.of("stopped")


def test_failing_and_hanging_hooks_neither_stop_nor_delay_the_watcher(
        dovecot: Dovecot, write_config, tmp_path: Path) -> None:  # noqa: ANN001
    user = dovecot.add_user()
    marker = tmp_path / "ran"
    script = tmp_path / "hook.sh"
    # the first run fails, the second hangs (killed after MAILCLI_WATCH_HOOK_TIMEOUT=2 s)
    script.write_text(f'#!/bin/sh\ncat >/dev/null\nif [ -e {marker} ]; then sleep 60; fi\n'
                      f'touch {marker}\nexit 7\n')
    script.chmod(0o755)
    write_config(user=user, extra='poll_interval = "30s"\n')
    with WatchProcess("--hook", str(script)) as w:
        w.wait("started", timeout=20)
        append(dovecot, user, message(1, "a"))
        failed = w.wait("hook_failed", timeout=5)[0]
        assert failed["exit_code"] == 7 and failed["command"] == str(script)
        append(dovecot, user, message(2, "b"))
        w.wait("new_mail", timeout=5, count=2)
        began = time.monotonic()
        append(dovecot, user, message(3, "c"))              # while the second hook hangs
        w.wait("new_mail", timeout=5, count=3)
        assert time.monotonic() - began < 3
        hung = w.wait("hook_failed", timeout=5, count=2)[1]
        assert hung["exit_code"] is None and hung.get("timed_out") is True
        assert w.terminate()[0] == 0


def test_a_cron_fetch_during_watch_works_and_a_held_lock_is_waited_for(
        dovecot: Dovecot, write_config, tmp_path: Path) -> None:  # noqa: ANN001
    from mailcli.sync.lock import account_lock

    user = dovecot.add_user()
    write_config(user=user, extra='poll_interval = "30s"\n')
    with WatchProcess() as w:
        w.wait("started", timeout=20)
        fetched = run_cli("fetch", "--quiet")
        assert (fetched.returncode, fetched.stderr) == (0, "")
        with account_lock(data_dir(), "work"):          # "a long fetch" holds the lock
            append(dovecot, user, message(1, "later"))
            time.sleep(1.5)
            assert not w.of("new_mail")                   # waiting, not failing
        got = w.wait("new_mail", timeout=5)[0]
        assert got["messages"][0]["subject"] == "later 1"
        assert not w.of("disconnected") and not w.of("stopped")
        assert w.terminate()[0] == 0


def test_sigterm_while_waiting_for_the_lock_exits_0_within_5_s(
        dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    from mailcli.sync.lock import account_lock

    write_config(user=dovecot.add_user())
    with account_lock(data_dir(), "work"):
        with WatchProcess() as w:
            wait_for(lambda: (data_dir() / "index.sqlite3").exists(), 10, "the watcher")
            time.sleep(1)
            code, took = w.terminate()
    assert code == 0 and took < 5, w.stderr
    assert w.of("stopped")


def test_a_refused_login_stops_that_account_only(dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    user = dovecot.add_user()
    write_config(name="good", user=user, extra='poll_interval = "30s"\n')
    write_config(name="bad", user="nosuchuser")
    with WatchProcess() as w:
        stopped = w.wait("stopped", timeout=20, account="bad")[0]
        assert stopped["exit_code"] == 3 and "nosuchuser" in stopped["error"]
        w.wait("started", timeout=20, account="good")
        append(dovecot, user, message(1, "still"))
        assert w.wait("new_mail", timeout=5, account="good")
        assert w.proc.poll() is None
        assert w.terminate()[0] == 0


def test_every_account_refused_exits_3(write_config) -> None:  # noqa: ANN001
    write_config(name="bad", user="nosuchuser")
    r = run_cli("watch", "--json", timeout=30)
    assert r.returncode == 3
    lines = r.stdout.splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    assert '"exit_code": 3' in lines[-1]
    assert sys.executable
