"""The TUI runs `mailcli watch`'s watcher: mail appended on the server by another client
appears in the list and the folder counts without a key press, and the status bar shows
the account's state."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.servers.dovecot import Dovecot
from tests.tui.conftest import NOW, SIZE, raw_message
from tests.watch.helpers import FAST_ENV, append

pytestmark = pytest.mark.dovecot


async def _until(pilot: Any, check: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_new_mail_appears_without_a_key_press(write_config: Any, dovecot: Dovecot,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from mailcli.service import Service
    from mailcli.tui.app import MailApp

    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)
    spec = write_config(extra='poll_interval = "30s"\n')
    dovecot.deliver(spec.user, raw_message(1, subject="Already there", sender="A <a@x.org>",
                                           when=NOW.replace(hour=9), body="old\n"))
    service = Service.open()
    app = MailApp(service, clock=lambda: NOW, poll_interval=None, preview_delay=0, watch=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            listing = app.main.message_list
            await _until(pilot, lambda: "work idle" in app.main.status.plain, 20,
                         "the watcher to wait for changes")
            await _until(pilot, lambda: listing.source is not None and listing.source.total == 1,
                         10, "the first sync in the list")
            append(dovecot, spec.user, raw_message(2, subject="Pushed \x1b[31mhere [b]x[/b]",
                                                   sender="B <b@x.org>",
                                                   when=NOW.replace(hour=11), body="new\n"))
            await _until(pilot, lambda: listing.source.total == 2, 10, "the new message")
            assert listing.source.peek(0).envelope.subject.startswith("Pushed")
            labels = [str(n.label) for n in app.main.folder_tree._by_target.values()]
            await _until(pilot, lambda: any(str(n.label) == "INBOX (2)" for n in
                                            app.main.folder_tree._by_target.values()),
                         10, f"the folder count to move (labels {labels})")
            notes = [n.message for n in app._notifications]
            assert any(n.startswith("1 new in work/INBOX: B <b@x.org>: Pushed ") for n in notes)
            assert not any("\x1b" in n for n in notes)
            assert any("[b]x[/b]" in n for n in notes)             # shown as typed, not markup
        assert app.watcher is not None and app.watcher.stop_event.is_set()
        assert app.watcher.thread is not None
        app.watcher.thread.join(5)
        assert not app.watcher.thread.is_alive()
    finally:
        service.close()
