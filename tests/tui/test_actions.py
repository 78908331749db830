"""Pilot tests: every message action goes through the service and queues what the CLI
would (flags on the row, delete/move journal entries), plus compose/reply/forward and the
escape-sequence guarantee."""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

from textual.widgets import Input, TextArea

from mailcli.model import Flag
from mailcli.tui.screens.compose import ComposeScreen
from mailcli.tui.screens.pickers import FolderPicker, SavePrompt
from tests.tui.conftest import SIZE, settle


def notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def select(pilot: Any, id: int) -> None:
    app = pilot.app
    assert app.main.message_list.select_id(id)
    await settle(pilot)


async def test_toggle_read_and_flag(make_app: Any, service: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, seeded["inbox1"])
        assert Flag.SEEN in service.resolve(seeded["inbox1"]).flags
        await pilot.press("N")
        await settle(pilot)
        assert Flag.SEEN not in service.resolve(seeded["inbox1"]).flags
        assert app.main.message_list.current.id == seeded["inbox1"]
        assert app.main.message_list._row_text(
            app.main.message_list.source.peek(app.main.message_list.cursor), 100).plain[1] == "N"
        await pilot.press("N")
        await settle(pilot)
        assert Flag.SEEN in service.resolve(seeded["inbox1"]).flags
        await pilot.press("F")
        await settle(pilot)
        assert Flag.FLAGGED in service.resolve(seeded["inbox1"]).flags
        assert "Flagged" in notes(app)
        # the flag change waits for the sync as a local != synced difference
        row = service.store.message_row(seeded["inbox1"])
        assert Flag.FLAGGED in row.flags and Flag.FLAGGED not in (row.synced_flags or ())


async def test_delete_queues_server_deletion(make_app: Any, service: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, seeded["inbox3"])
        cursor = app.main.message_list.cursor
        await pilot.press("d")
        await settle(pilot)
        assert service.store.count("work", "INBOX") == 26
        assert app.main.message_list.source.total == 26
        assert app.main.message_list.cursor == cursor       # the next message moves up
        assert app.main.message_list.current.id == seeded["inbox4"]
        pending = service.store.journal.pending("work")
        assert [(a.kind.value, a.payload["folder"], a.payload["uid"], a.payload["dest"])
                for a in pending] == [("move", "INBOX", 103, "Trash")]   # delete = to the Trash
        assert pending[0].payload["message_id"]       # pinned to the message, not just the uid


async def test_move_with_the_folder_picker(make_app: Any, service: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, seeded["inbox5"])
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, FolderPicker)
        await pilot.press(*"arc", "enter")
        await settle(pilot)
        assert app.screen is app.main
        assert service.resolve(seeded["inbox5"]).folder == "Archive"
        assert "Moved to Archive" in notes(app)
        kinds = [(a.kind.value, a.payload["dest"]) for a in service.store.journal.pending("work")]
        assert kinds == [("move", "Archive")]
        labels = [str(n.label) for n in app.main.folder_tree._by_target.values()]
        assert "Archive" in labels  # still all read
        assert app.main.message_list.source.total == 26


async def test_move_cancel_changes_nothing(make_app: Any, service: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert service.resolve(seeded["evil"]).folder == "INBOX"


async def test_save_attachments_to_a_directory(make_app: Any, seeded: dict, tmp_path: Path) -> None:
    app = make_app()
    dest = tmp_path / "out"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, seeded["attach"])
        assert "numbers.csv" in app.main.preview.text
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SavePrompt)
        app.screen.query_one("#save-dir", Input).value = str(dest)
        await pilot.press("enter")
        await settle(pilot)
        assert (dest / "numbers.csv").read_text() == "a,b\n1,2"
        assert any("Saved 1 file(s)" in m for m in notes(app))
        # a second save refuses to overwrite: a notification, not a traceback
        await pilot.press("s")
        await settle(pilot)
        app.screen.query_one("#save-dir", Input).value = str(dest)
        await pilot.press("enter")
        await settle(pilot)
        assert any("exists" in m for m in notes(app))


async def test_save_without_attachments_warns(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert app.screen is app.main
        assert "This message has no attachments" in notes(app)


async def test_reply_reply_all_forward_open_prefilled_drafts(make_app: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, seeded["inbox1"])
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert "bob@example.com" in app.screen.query_one("#compose-to", Input).value
        assert app.screen.query_one("#compose-subject", Input).value == "Re: Lunch on Friday? #1"
        assert "> Message number 1." in app.screen.query_one("#compose-body", TextArea).text
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main
        assert "Nothing written: draft dropped" in notes(app)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.draft.in_reply_to == "<m1@example.test>"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.query_one("#compose-subject", Input).value == "Fwd: Lunch on Friday? #1"
        assert app.screen.query_one("#compose-to", Input).value == ""
        assert app.focused.id == "compose-to"


async def test_compose_without_smtp_is_an_error_and_escape_keeps_a_draft(
        make_app: Any, service: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("ctrl+s")
        assert "Add a recipient first" in notes(app)
        app.screen.query_one("#compose-to", Input).value = "Bob <bob@example.com>"
        app.screen.query_one("#compose-subject", Input).value = "Hi"
        app.screen.query_one("#compose-body", TextArea).text = "Hello Bob"
        await pilot.press("ctrl+s")
        await settle(pilot)
        # the test account has no [smtp]: the service refuses, the TUI says why
        assert app.screen is app.main
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "smtp" in errors[-1].message.lower()
        await pilot.press("c")
        await settle(pilot)
        app.screen.query_one("#compose-body", TextArea).text = "half written"
        await pilot.press("escape")
        await settle(pilot)
        assert any(m.startswith("Kept in Drafts") for m in notes(app))
        hits = service.search("body:half")
        assert [Flag.DRAFT in e.flags for e in hits] == [True]


async def test_external_editor_edits_the_draft(make_app: Any, tmp_path: Path,
                                               monkeypatch: Any) -> None:
    script = tmp_path / "fake-editor"
    script.write_text("#!/bin/sh\nsed -i 's/^Subject:.*/Subject: From the editor/; "
                      "s/^To:.*/To: carol@example.net/' \"$1\"\necho 'typed in vi' >> \"$1\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        # headless tests have no terminal to hand over: the TUI says so and stays usable
        await pilot.press("ctrl+g")
        assert any("cannot hand over" in m for m in notes(app))
        # with a terminal, suspend() hands it to the editor and the draft comes back
        monkeypatch.setattr(type(app), "suspend", lambda self: contextlib.nullcontext())
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert screen.query_one("#compose-subject", Input).value == "From the editor"
        assert screen.query_one("#compose-to", Input).value == "carol@example.net"
        assert "typed in vi" in screen.query_one("#compose-body", TextArea).text
        assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("mailcli-draft-*"))


async def test_escape_sequences_are_neutralized_everywhere(make_app: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select(pilot, seeded["evil"])
        lst = app.main.message_list
        drawn = "".join(seg.text for y in range(lst.size.height)
                        for seg in lst.render_line(y))
        preview = app.main.preview.text
        await pilot.press("enter")
        await settle(pilot)
        view = app.screen.body.text
        await pilot.press("H")
        full = app.screen.body.text
        for text in (drawn, preview, view, full):
            assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
            assert "\u202e" not in text
        assert "Pay now RED" in drawn and "pwned" not in drawn
        assert "click me" in view and "evil.example/" not in view
        assert "bell\u2407" in view                      # BEL shown as a control picture
        assert "[bold]not markup[/bold]" in view          # markup is shown, not applied
        assert "\ufffdgpj.exe" in view                     # the bidi override is visible
