"""CLI test fixtures: a configured account on the Dovecot fixture with a cache seeded
directly through Store.deliver (the read/change commands never talk to the server), and
helpers that check the one-line error contract."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailcli.model import Flag
from tests.helpers import Result


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """In-process CLI runs configure logging (cli/logging.py); undo it after each test so
    that later tests (caplog at DEBUG, imapclient traces) see the default state."""
    root = logging.getLogger()
    imapclient = logging.getLogger("imapclient")
    saved = (root.level, list(root.handlers), imapclient.level)
    yield
    for handler in list(root.handlers):
        if handler not in saved[1]:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved[0])
    imapclient.setLevel(saved[2])


def make_message(subject: str, body: str = "hello\n", sender: str = "Alice Example <alice@example.org>",
                 date: str = "Mon, 01 Jan 2024 10:00:00 +0000", html: str | None = None,
                 attachment: tuple[str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "Bob <bob@example.test>"
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = f"<{abs(hash(subject))}@example.org>"
    if html is not None and not body:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
    if attachment is not None:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


@dataclass
class Seeded:
    """Ids of the seeded messages (account "work", IMAP, uids 1.. in INBOX)."""

    plain: int
    attach: int
    html: int
    hostile: int
    archived: int
    local_only: int
    data: Path


@pytest.fixture
def seeded(write_config, tmp_path: Path) -> Seeded:
    from mailcli.store import Store

    write_config(name="work")
    data = Path(os.environ["MAILCLI_DATA"])
    with Store(data) as store:
        plain = store.deliver("work", "INBOX", make_message("Quarterly report", "numbers inside\n",
                                                            date="Tue, 02 Jan 2024 09:00:00 +0000"), uid=1)
        attach = store.deliver("work", "INBOX", make_message(
            "Invoice attached", "see the pdf\n", sender="Bob Builder <bob@example.com>",
            date="Wed, 03 Jan 2024 09:00:00 +0000", attachment=("invoice.pdf", b"%PDF-1.4 fake")),
            flags={Flag.SEEN}, uid=2)
        html = store.deliver("work", "INBOX", make_message(
            "Newsletter", "", html="<p>Hello <b>HTML</b> world</p>",
            date="Thu, 04 Jan 2024 09:00:00 +0000"), uid=3)
        hostile = store.deliver("work", "INBOX", make_message(
            "Evil \x1b]0;pwned\x07 \x1b[31mred\x1b[0m", "body \x1b[2J cleared\n",
            date="Fri, 05 Jan 2024 09:00:00 +0000"), uid=4)
        archived = store.deliver("work", "Archive", make_message(
            "Old thread", "archived\n", date="Sat, 06 Jan 2024 09:00:00 +0000"),
            flags={Flag.SEEN}, uid=1)
        local_only = store.deliver("work", "INBOX", make_message(
            "Never uploaded", "local\n", date="Sun, 07 Jan 2024 09:00:00 +0000"))
    return Seeded(plain, attach, html, hostile, archived, local_only, data)


def assert_one_line_error(r: Result, code: int, needle: str = "") -> None:
    """Exit `code`, nothing on stdout, `mailcli: error: ...` on stderr (+ at most a hint)."""
    assert r.exit_code == code, r
    assert r.stdout == "", r
    lines = r.stderr.strip().splitlines()
    assert lines and lines[0].startswith("mailcli: error: "), r.stderr
    assert len(lines) <= 2 and "Traceback" not in r.stderr, r.stderr
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), r.stderr
    assert needle.lower() in lines[0].lower(), r.stderr
