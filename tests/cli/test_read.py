"""folders, list, search, show, attachments: main paths, --json shapes, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Seeded, assert_one_line_error
from tests.helpers import invoke

ENVELOPE_KEYS = {"id", "account", "folder", "uid", "message_id", "date", "from", "to", "cc",
                 "subject", "flags", "size", "has_attachments"}


def test_folders_json_and_table(seeded: Seeded) -> None:
    r = invoke("folders", "--json")
    assert r.exit_code == 0, r
    doc = json.loads(r.stdout)
    assert [(f["account"], f["folder"], f["total"], f["unread"]) for f in doc] == [
        ("work", "INBOX", 5, 4), ("work", "Archive", 1, 0)]
    assert all(set(f) >= {"account", "folder", "total", "unread"} for f in doc)
    r = invoke("folders", "work")
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and lines[0].split() == ["ACCOUNT", "FOLDER", "TOTAL", "UNREAD"]
    assert lines[1].split() == ["work", "INBOX", "5", "4"]


def test_folders_unknown_account_exit_4(seeded: Seeded) -> None:
    assert_one_line_error(invoke("folders", "nosuch"), 4, "no account named 'nosuch'")


def test_list_json_shape_newest_first(seeded: Seeded) -> None:
    r = invoke("list", "--json")
    assert r.exit_code == 0 and r.stderr == "", r
    doc = json.loads(r.stdout)
    assert [e["id"] for e in doc] == [seeded.local_only, seeded.archived, seeded.hostile,
                                      seeded.html, seeded.attach, seeded.plain]
    for e in doc:
        assert set(e) >= ENVELOPE_KEYS
    attach = next(e for e in doc if e["id"] == seeded.attach)
    assert attach["has_attachments"] is True and attach["flags"] == ["seen"]
    assert attach["uid"] == 2 and attach["date"].startswith("2024-01-03T09:00:00")
    assert attach["from"] == "Bob Builder <bob@example.com>"


def test_list_filters_and_limit(seeded: Seeded) -> None:
    doc = json.loads(invoke("list", "-a", "work", "-f", "INBOX", "--unread", "--limit", "2",
                            "--json").stdout)
    assert [e["id"] for e in doc] == [seeded.local_only, seeded.hostile]
    doc = json.loads(invoke("list", "-f", "Archive", "--json").stdout)
    assert [e["subject"] for e in doc] == ["Old thread"]


def test_list_table_fits_width_and_is_sanitized(seeded: Seeded) -> None:
    r = invoke("list", env={"COLUMNS": "60"})
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "DATE", "FL"]
    assert len(lines) == 7
    for line in lines:
        assert len(line) <= 60, line
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    hostile = next(l for l in lines if l.lstrip().startswith(f"{seeded.hostile} "))
    assert "N" in hostile.split()[2]
    wide = invoke("list", "-f", "INBOX", env={"COLUMNS": "200"}).stdout
    assert "Quarterly report" in wide and "Alice Example" in wide and "@" in wide


def test_list_errors(seeded: Seeded) -> None:
    assert_one_line_error(invoke("list", "-a", "nosuch"), 4, "nosuch")
    assert_one_line_error(invoke("list", "-f", "NoSuchFolder"), 4, "no folder 'NoSuchFolder'")
    assert_one_line_error(invoke("list", "--limit", "-1"), 2, "--limit")
    assert len(json.loads(invoke("list", "--limit", "0", "--json").stdout)) == 6   # 0: all
    assert_one_line_error(invoke("list", "--bogus"), 2, "no such option")


def test_search_json_and_errors(seeded: Seeded) -> None:
    doc = json.loads(invoke("search", "from:bob", "has:attachment", "--json").stdout)
    assert [e["id"] for e in doc] == [seeded.attach]
    doc = json.loads(invoke("search", "subject:report OR subject:newsletter", "--json").stdout)
    assert {e["id"] for e in doc} == {seeded.plain, seeded.html}
    doc = json.loads(invoke("search", "is:unread -subject:evil", "folder:INBOX", "--json").stdout)
    assert {e["id"] for e in doc} == {seeded.plain, seeded.html, seeded.local_only}
    r = invoke("search", "quarterly")
    assert r.exit_code == 0 and "Quarterly report" in r.stdout
    r = invoke("search", "nothingmatchesthis")
    assert r.exit_code == 0 and r.stdout == "" and "no matches" in r.stderr
    r = invoke("search", 'subject:"unterminated')
    assert_one_line_error(r, 2, "column 9")
    assert_one_line_error(invoke("search", "bogus:x"), 2, "unknown field 'bogus:'")
    assert_one_line_error(invoke("search", "a", "OR"), 2, "column")


def test_show_marks_seen_and_renders(seeded: Seeded) -> None:
    r = invoke("show", str(seeded.plain))
    assert r.exit_code == 0, r
    assert "Subject: Quarterly report" in r.stdout and "numbers inside" in r.stdout
    flags = json.loads(invoke("list", "--json").stdout)
    assert next(e for e in flags if e["id"] == seeded.plain)["flags"] == ["seen"]


def test_show_no_mark_and_html(seeded: Seeded) -> None:
    r = invoke("show", "--no-mark", str(seeded.html))
    assert r.exit_code == 0 and "HTML" in r.stdout and "<b>" not in r.stdout
    env = next(e for e in json.loads(invoke("list", "--json").stdout) if e["id"] == seeded.html)
    assert env["flags"] == []
    r = invoke("show", "--html", str(seeded.html))
    assert r.exit_code == 0 and "Hello" in r.stdout


def test_show_json_shape(seeded: Seeded) -> None:
    r = invoke("show", "work:INBOX:2", "--json")
    assert r.exit_code == 0, r
    doc = json.loads(r.stdout)
    assert set(doc) >= ENVELOPE_KEYS | {"text", "html", "attachments", "headers"}
    assert doc["id"] == seeded.attach and "see the pdf" in doc["text"]
    assert doc["attachments"] == [{"filename": "invoice.pdf",
                                   "content_type": "application/octet-stream", "size": 13}]


def test_show_sanitizes_hostile_text(seeded: Seeded) -> None:
    r = invoke("show", str(seeded.hostile))
    assert r.exit_code == 0
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "red" in r.stdout and "cleared" in r.stdout


def test_show_raw_is_byte_exact(seeded: Seeded) -> None:
    from mailcli.store import Store

    with Store(seeded.data) as store:
        raw = store.read_raw(seeded.hostile)
    from click.testing import CliRunner

    from mailcli.cli.main import cli

    res = CliRunner().invoke(cli, ["show", "--raw", str(seeded.hostile)])
    assert res.exit_code == 0 and res.stdout_bytes == raw


def test_show_errors(seeded: Seeded) -> None:
    assert_one_line_error(invoke("show", "99999"), 4, "no message with id 99999")
    assert_one_line_error(invoke("show", "work:INBOX:77"), 4, "work:INBOX:77")
    assert_one_line_error(invoke("show", "nosuch:INBOX:1"), 4, "nosuch")
    assert_one_line_error(invoke("show", "not-a-ref"), 2, "bad message reference")
    assert_one_line_error(invoke("show", "--raw", "--json", str(seeded.plain)), 2, "--raw")
    assert_one_line_error(invoke("show"), 2, "missing argument")


def test_attachments_list_and_save(seeded: Seeded, tmp_path: Path) -> None:
    r = invoke("attachments", str(seeded.attach), "--json")
    assert json.loads(r.stdout) == [{"index": 1, "filename": "invoice.pdf",
                                     "content_type": "application/octet-stream", "size": 13}]
    r = invoke("attachments", str(seeded.attach))
    assert r.exit_code == 0 and "invoice.pdf" in r.stdout
    dest = tmp_path / "out"
    r = invoke("attachments", str(seeded.attach), "--save", str(dest), "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout) == {"saved": [str(dest.resolve() / "invoice.pdf")]}
    assert (dest / "invoice.pdf").read_bytes() == b"%PDF-1.4 fake"
    r = invoke("attachments", str(seeded.attach), "--save", str(dest))
    assert_one_line_error(r, 1, "file exists")
    r = invoke("attachments", str(seeded.attach), "--save", str(dest), "--force")
    assert r.exit_code == 0 and "invoice.pdf" in r.stdout


def test_attachments_errors(seeded: Seeded, tmp_path: Path) -> None:
    assert_one_line_error(invoke("attachments", "424242"), 4, "no message")
    assert_one_line_error(invoke("attachments", str(seeded.attach), "--force"), 2, "--save")
    assert_one_line_error(invoke("attachments", str(seeded.attach), "--save", str(tmp_path),
                                 "-n", "5"), 4, "no attachment 5")
    r = invoke("attachments", str(seeded.plain), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


@pytest.mark.parametrize("cmd", [["list"], ["folders"], ["search", "x"]])
def test_empty_cache_is_not_an_error(write_config, cmd: list[str]) -> None:
    write_config(name="work")
    r = invoke(*cmd, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


def test_show_json_html_has_no_escape_sequences(tmp_path) -> None:  # noqa: ANN001
    import os

    from mailcli.store import Store

    (tmp_path / "config.toml").write_text(
        '[accounts.work]\nprotocol = "imap"\nhost = "127.0.0.1"\nusername = "u"\npassword_env = "X"\n')
    raw = (b"From: a@example.org\r\nSubject: h\r\nContent-Type: text/html\r\n\r\n"
           b"<p>hi \x1b]0;owned\x07 \x1b[2J there</p>\r\n")
    with Store(Path(os.environ["MAILCLI_DATA"])) as store:
        mid = store.deliver("work", "INBOX", raw, uid=1)
    r = invoke("show", str(mid), "--json")
    assert r.exit_code == 0, r
    doc = json.loads(r.stdout)
    assert "\x1b" not in doc["html"] and "\x07" not in doc["html"] and "there" in doc["html"]
