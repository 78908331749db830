"""TUI test fixtures: a seeded store (deterministic mail, two accounts), a fixed clock,
UTC, no cursor blink, a fixed terminal size; `settle(pilot)` waits for every worker."""
from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

NOW = datetime(2024, 3, 15, 12, 0, tzinfo=timezone.utc)
SIZE = (120, 36)

CONFIG = """
[accounts.work]
protocol = "imap"
host = "127.0.0.1"
port = 9
security = "tls"
username = "me"
password_env = "MAILCLI_TEST_PASSWORD"
email = "me@example.test"
name = "Me Myself"

[accounts.home]
protocol = "pop3"
host = "127.0.0.1"
port = 9
security = "tls"
username = "me"
password_env = "MAILCLI_TEST_PASSWORD"
email = "me@home.test"
"""

PEOPLE = ["Alice Archer <alice@example.org>", "Bob Baker <bob@example.com>",
          "Carol Chen <carol@example.net>", "Dave Dunn <dave@example.org>",
          "Erin Ellis <erin@example.com>"]
TOPICS = ["Quarterly report", "Lunch on Friday?", "Release schedule", "Server outage",
          "Budget review", "Holiday plans", "Design notes", "Invoice 4711"]

EVIL_SUBJECT = "Pay now \x1b[31mRED\x1b[0m \x1b]0;pwned-title\x07 \x1b]52;c;ZXZpbA==\x07done"
EVIL_BODY = ("Hello\x1b[2J\x1b[H cleared?\n"
             "\x1b]8;;http://evil.example/\x07click me\x1b]8;;\x07\n"
             "bell\x07 and [bold]not markup[/bold] and \u202egpj.exe\n")


def raw_message(i: int, *, subject: str, sender: str, when: datetime, body: str,
                msgid: str | None = None, in_reply_to: str | None = None,
                references: str | None = None, attachment: bool = False) -> bytes:
    headers = [
        f"From: {sender}", "To: Me Myself <me@example.test>",
        f"Subject: {subject}", f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        f"Message-ID: {msgid or f'<m{i}@example.test>'}", "MIME-Version: 1.0",
    ]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    if not attachment:
        headers.append("Content-Type: text/plain; charset=utf-8")
        return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")
    headers.append('Content-Type: multipart/mixed; boundary="b1"')
    parts = ["--b1", "Content-Type: text/plain; charset=utf-8", "", body,
             "--b1", 'Content-Type: text/csv; name="numbers.csv"',
             'Content-Disposition: attachment; filename="numbers.csv"', "", "a,b\n1,2",
             "--b1--", ""]
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(parts)).encode("utf-8")


def seed_store(data_dir: Path) -> dict[str, int]:
    """Deliver the test mail; returns named ids (evil, thread_root, thread_reply, attach...)."""
    from mailcli.model import Flag
    from mailcli.store import Store

    ids: dict[str, int] = {}
    with Store(data_dir) as store:
        with store.batch():
            for i in range(24):
                when = NOW - timedelta(hours=5 + i * 9)
                flags = {Flag.SEEN} if i % 3 else set()
                if i == 4:
                    flags.add(Flag.FLAGGED)
                raw = raw_message(i, subject=f"{TOPICS[i % len(TOPICS)]} #{i}",
                                  sender=PEOPLE[i % len(PEOPLE)], when=when,
                                  body=f"Message number {i}.\n\nSecond paragraph of {i}.\n",
                                  attachment=(i == 2))
                mid = store.deliver("work", "INBOX", raw, flags=flags, uid=100 + i, fsync=False)
                ids[f"inbox{i}"] = mid
            ids["attach"] = ids["inbox2"]
            root = raw_message(100, subject="Thread start", sender=PEOPLE[0],
                               when=NOW - timedelta(days=40), body="Shall we?\n",
                               msgid="<root@example.test>")
            reply = raw_message(101, subject="Re: Thread start", sender=PEOPLE[1],
                                when=NOW - timedelta(days=39), body="> Shall we?\nYes.\n",
                                msgid="<reply@example.test>", in_reply_to="<root@example.test>",
                                references="<root@example.test>")
            ids["thread_root"] = store.deliver("work", "INBOX", root, flags={Flag.SEEN}, uid=200,
                                               fsync=False)
            ids["thread_reply"] = store.deliver("work", "INBOX", reply, flags={Flag.SEEN},
                                                uid=201, fsync=False)
            evil = raw_message(300, subject=EVIL_SUBJECT, sender="Mallory \x1b[5m<mal@evil.example>",
                               when=NOW - timedelta(hours=1), body=EVIL_BODY)
            ids["evil"] = store.deliver("work", "INBOX", evil, uid=300, fsync=False)
            for i in range(3):
                raw = raw_message(400 + i, subject=f"Archived thing {i}", sender=PEOPLE[2],
                                  when=NOW - timedelta(days=100 + i), body="old\n")
                ids[f"archive{i}"] = store.deliver("work", "Archive", raw, flags={Flag.SEEN},
                                                   uid=10 + i, fsync=False)
            for i in range(2):
                raw = raw_message(500 + i, subject=f"[python-dev] PEP {700 + i}", sender=PEOPLE[3],
                                  when=NOW - timedelta(days=2, hours=i), body="discuss\n")
                ids[f"list{i}"] = store.deliver("work", "Lists/python-dev", raw, uid=20 + i,
                                                fsync=False)
            raw = raw_message(600, subject="Family dinner", sender="Mum <mum@home.test>",
                              when=NOW - timedelta(days=1), body="Sunday at 6?\n")
            ids["home0"] = store.deliver("home", "INBOX", raw, uidl="u600", fsync=False)
    return ids


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests with asyncio.run (Textual's Pilot is async; no plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**args))
    return True


@pytest.fixture(autouse=True)
def tui_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", "secret")
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    yield
    time.tzset()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = Path(os.environ["MAILCLI_CONFIG"])
    path.write_text(CONFIG)
    return path


@pytest.fixture
def seeded(config_file: Path) -> dict[str, int]:
    return seed_store(Path(os.environ["MAILCLI_DATA"]))


@pytest.fixture
def service(seeded: dict[str, int]) -> Iterator[Any]:
    from mailcli.service import Service

    svc = Service.open()
    yield svc
    svc.close()


@pytest.fixture
def make_app(service: Any, tmp_path: Path) -> Callable[..., Any]:
    from mailcli.tui.app import MailApp

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("clock", lambda: NOW)
        kwargs.setdefault("poll_interval", None)
        kwargs.setdefault("preview_delay", 0)
        kwargs.setdefault("save_dir", tmp_path / "saved")
        app = MailApp(service, **kwargs)
        return app

    return make


async def settle(pilot: Any, rounds: int = 3) -> None:
    """Let workers finish and their results reach the screen."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
