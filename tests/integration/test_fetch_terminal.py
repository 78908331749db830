"""`mailcli fetch` on a terminal (script -qec): a real progress bar with rate and ETA, per
account (the second account's counts start at 0, not where the first ended)."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.integration.mailboxes import message
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


def test_fetch_draws_a_bar_per_account_on_a_terminal(dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    a, b = dovecot.add_user(), dovecot.add_user()
    write_config(name="a", user=a, extra='folders = ["INBOX"]')
    write_config(name="b", user=b, extra='folders = ["INBOX"]')
    dovecot.seed(a, [message(i, "a") for i in range(30)])
    dovecot.seed(b, [message(i, "b") for i in range(20)])
    cmd = f"stty cols 100 rows 24; {shlex.quote(sys.executable)} -m mailcli fetch"
    proc = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TERM": "xterm"},
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:]
    frames = [f.strip() for f in re.split(r"[\r\n]", proc.stdout) if f.strip()]
    first = next(f for f in frames if f.startswith("[1/2] a INBOX ["))
    second = next(f for f in frames if f.startswith("[2/2] b INBOX ["))
    assert re.search(r"\[-+\] 0/30 0 msgs 0B \S+ ETA -", first), first
    assert re.search(r"\[[#-]+\] \d+/20 \d+ msgs", second), second
    assert int(re.search(r"(\d+) msgs", second).group(1)) <= 20   # per account, not 30 + ...
    assert "a (imap): 30 new" in proc.stdout and "b (imap): 20 new" in proc.stdout
