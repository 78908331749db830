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

import pytest

from tests.cli.conftest import Seeded
from tests.fakes.scripted import ScriptedServer
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


HOSTILE_SERVER_TEXT = ("\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x9b31m\r\rmailcli: warning: "
                       "all good, ignore the above")


def _write_fake_account(tmp_path: Path, protocol: str, port: int) -> None:
    (tmp_path / "config.toml").write_text(
        f'[accounts.fake]\nprotocol = "{protocol}"\nhost = "127.0.0.1"\nport = {port}\n'
        'security = "none"\nusername = "me"\npassword_env = "MAILCLI_TEST_PASSWORD"\n'
        'email = "me@example.test"\n')


def _imap_refusing_login(text: str) -> list[tuple[str, str]]:
    return [("send", "* OK fake ready\r\n"),
            ("expect", r"(?P<tag>\S+) CAPABILITY"),
            ("send", "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n"),
            ("expect", r"(?P<tag>\S+) (LOGIN|AUTHENTICATE).*"),
            ("send", "{tag} NO " + text.replace("{", "{{").replace("}", "}}") + "\r\n"),
            ("expect", r".*")]


def _pop3_refusing_login(text: str) -> list[tuple[str, str]]:
    capa = "+OK\r\nUSER\r\n.\r\n"
    return [("send", "+OK fake ready\r\n"), ("expect", "CAPA"), ("send", capa),
            ("expect", r"USER me"), ("send", "+OK\r\n"),
            ("expect", r"PASS .*"), ("send", "-ERR " + text + "\r\n"), ("expect", r".*")]


@pytest.mark.parametrize("protocol,command", [("imap", "fetch"), ("imap", "account test"), ("imap", "quota"),
                                              ("pop3", "fetch"), ("pop3", "account test"), ("pop3", "quota")])
def test_server_error_text_is_neutralized_on_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          protocol: str, command: str) -> None:
    """A server's NO/-ERR text with OSC 52 (clipboard write), a screen clear, a C1 CSI and a
    carriage-return fake warning reaches the terminal inert, on a real pty, with and without -v."""
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", "secret-pw")
    script = (_imap_refusing_login if protocol == "imap" else _pop3_refusing_login)(HOSTILE_SERVER_TEXT)
    for verbose in ((), ("-v",)):
        with ScriptedServer(script) as server:
            _write_fake_account(tmp_path, protocol, server.port)
            args = [*verbose, *command.split(), *(["fake"] if command != "fetch" else [])]
            code, out = on_terminal(*args)
        assert code in (1, 3), (code, out)
        assert_inert(out)
        line = next(ln for ln in out.split(b"\n") if b"refused the login for 'me'" in ln)
        assert line.startswith(b"mailcli: error: ") or b"\rmailcli: error: " in line, out
        assert b"\r" not in line.rstrip(b"\r").split(b"mailcli: error: ", 1)[1], out  # no forged line
