"""`mailcli watch` against a real Dovecot (IDLE and NOTIFY): new mail appended by another
client is cached and announced (event + hook with the list JSON and the environment)
within seconds, in INBOX and in a second watched folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.mailboxes import message, run_cli
from tests.servers.dovecot import Dovecot
from tests.watch.helpers import WatchProcess, append, hook_command, hook_runs, wait_for

pytestmark = pytest.mark.dovecot


def test_new_mail_in_inbox_and_a_second_watched_folder_is_cached_and_announced(
        dovecot: Dovecot, write_config, tmp_path: Path) -> None:  # noqa: ANN001
    user = dovecot.add_user()
    dovecot.create_folder(user, "Lists/dev")
    dovecot.seed(user, [message(0, "old")])
    command, hook_out = hook_command(tmp_path)
    write_config(user=user, extra='watch_folders = ["INBOX", "Lists/*"]\npoll_interval = "2s"\n'
                 f"on_new_mail = '{command}'\n")
    with WatchProcess() as w:
        w.wait("started", timeout=20)
        assert w.of("started")[0]["mode"] == "notify"
        synced = w.wait("synced")[0]
        assert synced["new"] == 1 and synced["account"] == "work"
        assert not w.of("new_mail")          # the first download of a folder is not news
        append(dovecot, user, message(1, "fresh"))
        got = w.wait("new_mail", timeout=5, folder="INBOX")[0]
        [msg] = got["messages"]
        assert msg["subject"] == "fresh 1" and msg["folder"] == "INBOX"
        assert set(msg) >= {"id", "account", "folder", "uid", "message_id", "date", "from", "to",
                            "cc", "subject", "flags", "size", "has_attachments"}
        append(dovecot, user, message(2, "list"), folder="Lists/dev")
        got = w.wait("new_mail", timeout=5, folder="Lists/dev")[0]
        assert [m["subject"] for m in got["messages"]] == ["list 2"]
        runs = wait_for(lambda: len(hook_runs(hook_out)) >= 2 and hook_runs(hook_out), 5, "hook")
        by_folder = {r["folder"]: r for r in runs}
        assert by_folder["INBOX"]["account"] == "work" and by_folder["INBOX"]["count"] == "1"
        assert [m["subject"] for m in by_folder["INBOX"]["stdin"]] == ["fresh 1"]
        assert by_folder["Lists/dev"]["stdin"][0]["id"] == got["messages"][0]["id"]
        # in the cache: `mailcli list` sees it while watch runs
        listed = run_cli("list", "--json", "-f", "Lists/dev")
        assert '"list 2"' in listed.stdout
        # a change queued meanwhile (no --now) is pushed within poll_interval
        flagged = run_cli("flag", str(msg["id"]), "--flagged")
        assert flagged.returncode == 0, flagged.stderr
        wait_for(lambda: "\\Flagged" in dovecot.flags(user)[msg["uid"]], 8, "the pushed flag")
        code, took = w.terminate()
    assert code == 0 and took < 5
    assert w.of("stopped") and not w.of("disconnected")
    assert len(hook_runs(hook_out)) == 2          # each batch once


def test_human_output_and_desktop_notifications(dovecot: Dovecot, write_config,
                                                tmp_path: Path) -> None:  # noqa: ANN001
    """Without --json: one line per event, message text neutralised; --notify runs
    notify-send (a stand-in on PATH that records its arguments)."""
    import os
    import signal
    import subprocess
    import sys

    user = dovecot.add_user()
    write_config(user=user, extra='poll_interval = "30s"\n')
    bindir = tmp_path / "bin"
    bindir.mkdir()
    args_file = tmp_path / "notify-args"
    fake = bindir / "notify-send"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" > {args_file}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}",
           "MAILCLI_WATCH_KEEPALIVE": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "mailcli", "watch", "--notify"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        lines.extend(proc.stdout)

    import threading
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("watching (notify)" in line for line in lines), 20, "started")
        evil = (b"From: Mallory \x1b[2J <m@x.org>\r\nSubject: pay <b>now</b> \x1b]0;t\x07\r\n"
                b"Message-ID: <evil@x>\r\n\r\nbody\r\n")
        append(dovecot, user, evil)
        wait_for(lambda: args_file.exists() and args_file.read_bytes(), 8, "notify-send")
        args = args_file.read_bytes().split(b"\0")[:-1]
        assert args[:2] == [b"--app-name=mailcli", b"1 new message in work/INBOX"]
        assert b"\x1b" not in args[2] and b"\x07" not in args[2]
        assert b"&lt;b&gt;now&lt;/b&gt;" in args[2]
        wait_for(lambda: any("1 new" in line for line in lines), 5, "the new-mail line")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        reader.join(timeout=5)
    text = "".join(lines)
    assert "work INBOX: 1 new" in text and "\x1b" not in text and "work: stopped" in text
    assert not text.lstrip().startswith("{")
