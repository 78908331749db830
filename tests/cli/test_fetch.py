"""fetch against the Dovecot fixture: --json shape, summary lines, --quiet, the TTY
progress display (in a real pty), exit codes for unknown account, auth failure,
unreachable server and partial runs; --now pushes flag/move/delete at once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line_error, make_message
from tests.helpers import invoke
from tests.servers.dovecot import Dovecot

FETCH_KEYS = {"account", "protocol", "ok", "new", "updated", "deleted", "uploaded", "error"}


def _bad_account(name: str, port: int, extra: str = "") -> str:
    return (f'\n[accounts.{name}]\nprotocol = "imap"\nhost = "127.0.0.1"\nport = {port}\n'
            f'security = "none"\nusername = "nobody"\npassword_command = "echo wrong"\n{extra}')


@pytest.fixture
def inbox(dovecot: Dovecot, write_config, mail_user: str) -> str:
    for i in range(3):
        dovecot.deliver(mail_user, make_message(f"hello {i}", f"body {i}\n",
                                                date=f"Mon, 0{i + 1} Jan 2024 10:00:00 +0000"))
    dovecot.create_folder(mail_user, "Archive")
    write_config(name="work", user=mail_user)
    return mail_user


def test_fetch_json_shape_then_list(inbox: str) -> None:
    r = invoke("fetch", "--json")
    assert r.exit_code == 0, r
    doc = json.loads(r.stdout)
    assert set(doc) >= {"accounts", "ok"} and doc["ok"] is True
    (acc,) = doc["accounts"]
    assert set(acc) >= FETCH_KEYS and acc["account"] == "work" and acc["new"] == 3
    listed = json.loads(invoke("list", "--json").stdout)
    assert sorted(e["subject"] for e in listed) == ["hello 0", "hello 1", "hello 2"]


def test_fetch_summary_and_quiet(inbox: str) -> None:
    r = invoke("fetch")
    assert r.exit_code == 0 and r.stderr == "", r  # not a TTY: no progress display
    assert r.stdout.strip() == "work (imap): 3 new, 0 updated, 0 deleted, 0 uploaded"
    r = invoke("fetch", "--quiet", "work")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")


def test_fetch_dry_run_changes_nothing(inbox: str) -> None:
    r = invoke("fetch", "--dry-run")
    assert r.exit_code == 0, r
    assert json.loads(invoke("list", "--json").stdout) == []


def test_fetch_progress_on_a_tty(inbox: str, tmp_path: Path) -> None:
    master, slave = os.openpty()
    env = dict(os.environ, COLUMNS="100")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "mailcli", "fetch"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=60) == 0
    os.close(master)
    text = out.decode(errors="replace")
    assert "\r[1/1] work" in text and "msgs" in text and "/s" in text
    assert "3 new" in text


def test_fetch_unknown_account_exit_4(inbox: str) -> None:
    assert_one_line_error(invoke("fetch", "nosuch"), 4, "no account named 'nosuch'")
    assert_one_line_error(invoke("fetch", "--bogus"), 2, "no such option")


def test_fetch_auth_failure_exit_3_and_partial_exit_1(inbox: str, dovecot: Dovecot) -> None:
    cfg = Path(os.environ["MAILCLI_CONFIG"])
    cfg.write_text(cfg.read_text() + _bad_account("bad", dovecot.ports.imap))
    r = invoke("fetch", "--quiet", "bad")
    assert r.exit_code == 3, r
    assert r.stdout == "" and r.stderr.startswith("mailcli: error: bad: ")
    assert len(r.stderr.strip().splitlines()) == 1
    r = invoke("fetch", "--json")
    assert r.exit_code == 1, r
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    by = {a["account"]: a for a in doc["accounts"]}
    assert by["work"]["ok"] is True and by["work"]["new"] == 3
    assert by["bad"]["ok"] is False and by["bad"]["error"]


def test_fetch_unreachable_exit_75(write_config) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    Path(os.environ["MAILCLI_CONFIG"]).write_text(_bad_account("gone", port))
    r = invoke("fetch", "--quiet")
    assert r.exit_code == 75, r
    assert r.stdout == "" and r.stderr.startswith("mailcli: error: gone: ")


def test_now_pushes_flag_move_delete(inbox: str, dovecot: Dovecot) -> None:
    assert invoke("fetch", "--quiet").exit_code == 0
    by_subject = {e["subject"]: e for e in json.loads(invoke("list", "--json").stdout)}
    a, b, c = (by_subject[f"hello {i}"] for i in range(3))
    r = invoke("flag", str(a["id"]), "--flagged", "--seen", "--now")
    assert r.exit_code == 0, r
    assert {"\\Flagged", "\\Seen"} <= dovecot.flags(inbox)[a["uid"]]
    r = invoke("delete", str(b["id"]), "--now")
    assert r.exit_code == 0, r
    assert b["uid"] not in dovecot.uids(inbox)
    r = invoke("move", str(c["id"]), "Archive", "--now")
    assert r.exit_code == 0, r
    assert c["uid"] not in dovecot.uids(inbox) and dovecot.count(inbox, "Archive") == 1


def test_show_then_fetch_pushes_seen(inbox: str, dovecot: Dovecot) -> None:
    assert invoke("fetch", "--quiet").exit_code == 0
    env = json.loads(invoke("list", "--json").stdout)[0]
    assert "\\Seen" not in dovecot.flags(inbox)[env["uid"]]
    assert invoke("show", str(env["id"])).exit_code == 0
    assert invoke("fetch", "--quiet").exit_code == 0
    assert "\\Seen" in dovecot.flags(inbox)[env["uid"]]


def test_fetch_full_downloads_a_headers_only_pop3_body(dovecot: Dovecot, write_config,
                                                       mail_user: str) -> None:
    body = "".join(f"line {i} of a long message\n" for i in range(300))
    dovecot.deliver(mail_user, make_message("big one", body))
    write_config(protocol="pop3", name="home", user=mail_user,
                 extra='leave_on_server = true\nmax_message_size = "2KB"\n')
    assert invoke("fetch", "--quiet").exit_code == 0
    listed = json.loads(invoke("list", "--json").stdout)
    ref = str(listed[0]["id"])
    assert "line 299" not in invoke("show", ref).stdout      # headers only so far
    r = invoke("fetch", "--full", ref, "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)[0]["id"] == int(ref)
    assert "line 299 of a long message" in invoke("show", ref).stdout
    bad = invoke("fetch", "--full", "999999")
    assert_one_line_error(bad, 4)


def test_quiet_fetch_says_nothing_when_another_fetch_holds_the_lock(inbox: str) -> None:
    from mailcli.sync.lock import account_lock

    with account_lock(Path(os.environ["MAILCLI_DATA"]), "work"):
        quiet = invoke("fetch", "--quiet")
        loud = invoke("fetch")
    assert quiet.exit_code == 75 and quiet.stdout == "" and quiet.stderr == ""
    assert loud.exit_code == 75 and loud.stderr.startswith("mailcli: error: work:")


def test_unusable_data_dir_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text(
        '[accounts.a]\nprotocol = "imap"\nhost = "127.0.0.1"\nusername = "u"\npassword_env = "X"\n')
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("MAILCLI_DATA", str(tmp_path / "afile" / "data"))
    r = invoke("list")
    assert_one_line_error(r, 2)
    assert "data dir" in r.stderr


def test_every_synced_folder_has_a_maildir_even_when_empty(inbox: str) -> None:
    assert invoke("fetch", "--quiet").exit_code == 0
    root = Path(os.environ["MAILCLI_DATA"]) / "mail" / "work"
    for folder in ("INBOX", "Archive", "Sent", "Drafts", "Trash"):   # Archive..Trash are empty
        assert all((root / folder / sub).is_dir() for sub in ("cur", "new", "tmp")), folder
