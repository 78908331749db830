"""Cron that is honest: with several accounts, a second `mailcli fetch --quiet` that only
finds another fetch holding a lock exits 75 (not 1), and every failed run leaves a line in
mailcli.log."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.mailboxes import data_dir, message, run_cli
from tests.integration.test_sync_cli import GatedProxy
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


def test_lock_only_collision_with_several_accounts_exits_75_and_is_logged(
        dovecot: Dovecot, write_config, tmp_path: Path) -> None:  # noqa: ANN001
    a, b = dovecot.add_user(), dovecot.add_user()
    spec = write_config(name="a", user=a)
    write_config(name="b", user=b)
    dovecot.seed(a, [message(i) for i in range(3)])
    dovecot.seed(b, [message(i) for i in range(2)])
    with GatedProxy(spec.port) as proxy:
        cfg = tmp_path / "config.toml"
        cfg.write_text(cfg.read_text().replace(f"port = {spec.port}", f"port = {proxy.port}", 1))
        first = subprocess.Popen([sys.executable, "-m", "mailcli", "fetch", "--quiet"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ))
        try:
            assert proxy.waiting.wait(30), "the first fetch never connected"
            second = run_cli("fetch", "--quiet")
        finally:
            proxy.gate.set()
            first.communicate(timeout=120)
    assert (second.returncode, second.stdout, second.stderr) == (75, "", "")
    assert first.returncode == 0
    lines = (data_dir() / "mailcli.log").read_text().splitlines()
    assert any(line.endswith("ERROR mailcli: fetch exited 75") for line in lines), lines[-5:]
    assert any("mailcli.fetch: a: " in line and "already being synced" in line for line in lines)


def test_a_failed_run_leaves_its_line_in_the_log(write_config) -> None:  # noqa: ANN001
    write_config(name="broken", user="nosuchuser")
    r = run_cli("fetch", "--quiet")
    assert r.returncode == 3 and "broken" in r.stderr
    lines = (data_dir() / "mailcli.log").read_text().splitlines()
    assert lines[-1].endswith("ERROR mailcli: fetch exited 3")
    assert "mailcli.fetch: broken: " in lines[-2] and "nosuchuser" in lines[-2]
    r = run_cli("show", "424242")
    assert r.returncode == 4
    last = (data_dir() / "mailcli.log").read_text().splitlines()[-1]
    assert "ERROR mailcli: show exited 4: " in last and "424242" in last
