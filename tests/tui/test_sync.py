"""Pilot tests of background sync (Dovecot fixture, offline server, a held account lock),
mail arriving from another process, and sending through a real SMTP server."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, TextArea

from mailcli.model import Flag
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SMTP_PASSWORD
from tests.tui.conftest import NOW, SIZE, raw_message, settle


def notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


def open_app(**kwargs: Any) -> tuple[Any, Any]:
    from mailcli.service import Service
    from mailcli.tui.app import MailApp

    service = Service.open()
    kwargs.setdefault("poll_interval", None)
    kwargs.setdefault("preview_delay", 0)
    return MailApp(service, clock=lambda: NOW, **kwargs), service


async def test_sync_offline_shows_offline_state(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot, rounds=6)
        status = app.main.status.plain
        assert "offline: work, home" in status and "synced 12:00" in status
        assert any(n.title == "Offline" for n in app._notifications)
        assert app.main.message_list.source.total == 27   # the cache still reads fine


async def test_sync_while_another_fetch_holds_the_lock(make_app: Any) -> None:
    from mailcli.sync.lock import account_lock

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        with account_lock(Path(os.environ["MAILCLI_DATA"]), "work"), \
                account_lock(Path(os.environ["MAILCLI_DATA"]), "home"):
            await pilot.press("g")
            await settle(pilot, rounds=6)
        assert "work: busy, another fetch is running" in notes(app)
        assert "work busy" in app.main.status.plain
        assert not any(n.severity == "error" for n in app._notifications)


@pytest.mark.dovecot
async def test_sync_against_dovecot_shows_server_mail_and_pushes_changes(
        write_config: Any, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    from mailcli.tui.widgets.status_bar import StatusBar

    progress: list[str] = []
    original = StatusBar.set_progress

    def record(self: StatusBar, text: str) -> None:
        progress.append(text)
        original(self, text)

    monkeypatch.setattr(StatusBar, "set_progress", record)
    spec = write_config()
    for i in range(3):
        dovecot.deliver(spec.user, raw_message(i, subject=f"Server mail {i}",
                                               sender="Srv <srv@example.org>",
                                               when=NOW.replace(hour=9 + i), body=f"body {i}\n"))
    app, service = open_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.main.message_list.source.total == 0
            await pilot.press("g")
            await settle(pilot, rounds=8)
            assert app.main.message_list.source.total == 3
            assert app.main.message_list.current.subject == "Server mail 2"
            assert "synced 12:00" in app.main.status.plain
            assert "Synced: 3 new" in notes(app)
            assert progress[0] == "syncing…" and "syncing work…" in progress
            assert any(p.startswith("syncing work/INBOX") for p in progress)
            labels = [str(n.label) for n in app.main.folder_tree._by_target.values()]
            assert any(label.startswith("INBOX") for label in labels)
            # new mail appears without restarting
            dovecot.deliver(spec.user, raw_message(9, subject="Later mail", sender="Srv <s@x.org>",
                                                   when=NOW.replace(hour=11), body="new\n"))
            # a local change made in the TUI reaches the server at the next sync
            await pilot.press("F")
            await settle(pilot)
            await pilot.press("g")
            await settle(pilot, rounds=8)
            assert app.main.message_list.source.total == 4
            assert app.main.message_list.source.peek(0).envelope.subject == "Later mail"
            flagged = [uid for uid, f in dovecot.flags(spec.user).items() if "\\Flagged" in f]
            assert len(flagged) == 1
            # delete in the TUI, sync: gone on the server too
            app.main.message_list.cursor = 0
            await settle(pilot)
            await pilot.press("d")
            await settle(pilot)
            await pilot.press("g")
            await settle(pilot, rounds=8)
            assert dovecot.count(spec.user) == 3
            assert app.main.message_list.source.total == 3
    finally:
        service.close()


async def test_mail_from_another_process_appears(make_app: Any, service: Any) -> None:
    app = make_app(poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.message_list.source.total == 27
        await pilot.pause(0.3)
        # what a cron `mailcli fetch` does: deliver into the store
        service.store.deliver("work", "INBOX", raw_message(
            900, subject="Delivered by cron", sender="Cron <c@example.org>",
            when=NOW, body="hi\n"), uid=900)
        for _ in range(20):
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            if app.main.message_list.source.total == 28:
                break
        await settle(pilot)
        assert app.main.message_list.source.total == 28
        assert app.main.message_list.source.peek(0).envelope.subject == "Delivered by cron"


@pytest.mark.dovecot
@pytest.mark.smtp
async def test_reply_is_sent_through_smtp(write_config: Any, smtp_server: Any, dovecot: Dovecot,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=(
        f'\n[accounts.work.smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        f'security = "starttls"\ntls_ca_file = "{smtp_server.ca_file}"\nusername = "sender"\n'
        f'password_env = "SMTP_PW"\n'))
    dovecot.deliver(spec.user, raw_message(1, subject="Question", sender="Ann <ann@example.org>",
                                           when=NOW.replace(hour=8), body="Are you there?\n"))
    app, service = open_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("g")
            await settle(pilot, rounds=8)
            before = len(smtp_server.messages)
            await pilot.press("r")
            await settle(pilot)
            body = app.screen.query_one("#compose-body", TextArea)
            body.text = "Yes, here.\n\n" + body.text
            assert "ann@example.org" in app.screen.query_one("#compose-to", Input).value
            await pilot.press("ctrl+s")
            await settle(pilot, rounds=6)
            assert any(m.startswith("Sent to") for m in notes(app)), notes(app)
            got = smtp_server.messages[before:]
            assert len(got) == 1 and got[0].rcpt_tos == ["ann@example.org"]
            assert b"Yes, here." in got[0].data
            env = app.main.message_list.current
            assert Flag.ANSWERED in service.resolve(env.id).flags
    finally:
        service.close()
