"""Pilot tests for issue 20 "Daily use" (TUI): reading does not mark mail read by itself,
undo / selection / mark-all-read, the composer keeps every header, `o` opens a part with
the desktop's program, and the layout at 80x24 and 60x20."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mailcli.model import Flag
from tests.tui.conftest import SIZE, settle

SIZES = [(120, 40), (80, 24), (60, 20)]


def unread(service: Any, *ids: int) -> list[bool]:
    return [Flag.SEEN not in service.resolve(i).flags for i in ids]


# ---------------------------------------------------------------------- 1. marking read
@pytest.mark.parametrize("size", SIZES)
async def test_startup_scrolling_and_paging_mark_nothing_read(make_app: Any, service: Any,
                                                              seeded: dict, size: tuple) -> None:
    """Starting, quitting, j three times and PgDn: nothing is marked read (the delay is
    long here, so only an immediate mark would show)."""
    before = {e.id for e in service.list_envelopes(limit=1000) if Flag.SEEN not in e.flags}
    app = make_app(mark_read_after=5.0)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.main.message_list.current.id == seeded["evil"]
        assert "Hello" in app.main.preview.text              # the preview is shown...
        await pilot.press("j", "j", "j")
        await settle(pilot)
        await pilot.press("pagedown", "pagedown", "k")
        await settle(pilot)
    after = {e.id for e in service.list_envelopes(limit=1000) if Flag.SEEN not in e.flags}
    assert after == before                                     # ...but nothing was marked read


async def test_resting_on_a_message_marks_it_read_after_the_delay(make_app: Any, service: Any,
                                                                  seeded: dict) -> None:
    """The delay is long enough (1.5 s) that a busy machine's settle() never outlasts it,
    and the mark is waited for (up to 10 s) instead of slept for: a fixed 0.3 s delay and
    0.5 s sleeps failed under load, once each way."""
    app = make_app(mark_read_after=1.5)

    async def becomes_read(msg_id: int) -> bool:
        for _ in range(100):
            await settle(pilot)
            if unread(service, msg_id) == [False]:
                return True
            await asyncio.sleep(0.1)
        return False

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await asyncio.sleep(1.8)
        await settle(pilot)
        assert unread(service, seeded["evil"]) == [True]      # start-up: never
        labels = [str(n.label) for n in app.main.folder_tree._by_target.values()]
        assert "INBOX (9)" in labels
        await pilot.press("j")                                 # inbox0, unread
        await settle(pilot)
        assert unread(service, seeded["inbox0"]) == [True]
        assert await becomes_read(seeded["inbox0"])
        await settle(pilot)
        labels = [str(n.label) for n in app.main.folder_tree._by_target.values()]
        assert "INBOX (8)" in labels                           # the count follows
        # scrolling past (less than the delay on each) marks nothing
        await pilot.press("j", "j", "j", "j")                  # over inbox3 (unread) to inbox4
        await settle(pilot)
        await asyncio.sleep(1.8)
        await settle(pilot)
        assert unread(service, seeded["inbox3"]) == [True]


async def test_marked_unread_stays_unread_when_the_cursor_comes_back(make_app: Any,
                                                                     service: Any,
                                                                     seeded: dict) -> None:
    app = make_app(mark_read_after=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j")                            # inbox1: read
        await settle(pilot)
        assert app.main.message_list.current.id == seeded["inbox1"]
        await pilot.press("N")                                  # mark it unread
        await settle(pilot)
        assert unread(service, seeded["inbox1"]) == [True]
        await pilot.press("j")
        await settle(pilot)
        await pilot.press("k")                                  # come back and rest
        await settle(pilot)
        await asyncio.sleep(0.4)
        await settle(pilot)
        assert app.main.message_list.current.id == seeded["inbox1"]
        assert unread(service, seeded["inbox1"]) == [True]


async def test_never_marks_only_on_open(make_app: Any, service: Any, seeded: dict) -> None:
    from mailcli.tui.screens.message import MessageScreen

    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        await asyncio.sleep(0.3)
        await settle(pilot)
        assert unread(service, seeded["inbox0"]) == [True]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MessageScreen)
        assert unread(service, seeded["inbox0"]) == [False]


def test_mark_read_after_config(tmp_path: Any) -> None:
    from mailcli.config.loader import parse_config
    from mailcli.errors import ConfigError

    path = tmp_path / "c.toml"
    assert parse_config({}, path).tui.mark_read_after == 2.0
    assert parse_config({"tui": {"mark_read_after": "never"}}, path).tui.mark_read_after is None
    assert parse_config({"tui": {"mark_read_after": "500ms"}}, path).tui.mark_read_after == 0.5
    assert parse_config({"tui": {"mark_read_after": "3s"}}, path).tui.mark_read_after == 3.0
    assert parse_config({"tui": {"mark_read_after": 0}}, path).tui.mark_read_after == 0.0
    with pytest.raises(ConfigError, match="mark_read_after"):
        parse_config({"tui": {"mark_read_after": "soon"}}, path)


# ---------------------------------------------------------------------- 4. undo, selection
def journal(service: Any) -> list[tuple[str, dict]]:
    return [(a.kind.value, a.payload) for a in service.store.journal.pending()]


async def test_space_selects_and_move_acts_on_the_selection_then_u_undoes(
        make_app: Any, service: Any, seeded: dict) -> None:
    from mailcli.tui.screens.pickers import FolderPicker

    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "space", "t")                  # select inbox0 and inbox1
        await settle(pilot)
        lst = app.main.message_list
        assert set(lst.selected) == {seeded["inbox0"], seeded["inbox1"]}
        assert lst._row_text(lst.source.peek(1), 100).plain.startswith("*")
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, FolderPicker)
        await pilot.press(*"arc", "enter")
        await settle(pilot)
        moved = [service.resolve(seeded[k]).folder for k in ("inbox0", "inbox1", "inbox2")]
        assert moved == ["Archive", "Archive", "INBOX"]
        assert sorted(p["id"] for k, p in journal(service) if k == "move") == sorted(
            [seeded["inbox0"], seeded["inbox1"]])
        assert not lst.selected
        await pilot.press("u")                                   # not on the server yet
        await settle(pilot)
        for key, uid in (("inbox0", 100), ("inbox1", 101)):
            assert service.resolve(seeded[key]).folder == "INBOX"
            assert service.store.message_row(seeded[key]).uid == uid  # the same server copy
        assert journal(service) == []                            # nothing left to push
        assert lst.source.total == 27


async def test_flag_and_read_on_a_selection_and_undo(make_app: Any, service: Any,
                                                     seeded: dict) -> None:
    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "t", "t", "t")                 # inbox0 (unread), 1, 2
        await settle(pilot)
        await pilot.press("F")
        await settle(pilot)
        flagged = [Flag.FLAGGED in service.resolve(seeded[f"inbox{i}"]).flags for i in range(4)]
        assert flagged == [True, True, True, False]
        await pilot.press("u")
        await settle(pilot)
        flagged = [Flag.FLAGGED in service.resolve(seeded[f"inbox{i}"]).flags for i in range(4)]
        assert flagged == [False, False, False, False]
        await pilot.press("u")
        await settle(pilot)
        assert any(n.message == "Nothing to undo" for n in app._notifications)


async def test_undo_after_the_change_reached_the_server_says_so(make_app: Any, service: Any,
                                                                seeded: dict) -> None:
    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        service.move([str(seeded["inbox0"])], "Archive")        # the CLI queues a move...
        app.undo_stack.append(__import__("mailcli.tui.actions", fromlist=["Undo"]).Undo(
            "move", (service.resolve(seeded["inbox1"]),), "x"))  # (a change never queued)
        await pilot.press("u")
        await settle(pilot)
        assert any("reached the server" in n.message for n in app._notifications)
        assert service.resolve(seeded["inbox0"]).folder == "Archive"   # not ours: kept


async def test_mark_all_read_marks_the_folder(make_app: Any, service: Any, seeded: dict) -> None:
    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert service.count("work", "INBOX", unread=True) == 9
        await pilot.press("A")
        await settle(pilot)
        assert service.count("work", "INBOX", unread=True) == 0
        assert service.count("work", "Lists/python-dev", unread=True) == 2   # only this list
        labels = [str(n.label) for n in app.main.folder_tree._by_target.values()]
        assert "INBOX" in labels
        await pilot.press("u")
        await settle(pilot)
        assert service.count("work", "INBOX", unread=True) == 9


# ---------------------------------------------------------------------- 3. the composer
def kept_drafts(service: Any) -> list[Any]:
    return [e for e in service.list_envelopes("work", limit=1000) if Flag.DRAFT in e.flags]


async def test_escape_with_a_bad_address_keeps_every_header(make_app: Any, service: Any) -> None:
    from textual.widgets import Input, TextArea

    app = make_app(mark_read_after=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#compose-to", Input).value = "bob@example.com, carol@"
        screen.query_one("#compose-cc", Input).value = "dave at example"
        screen.query_one("#compose-bcc", Input).value = "erin@example.com"
        screen.query_one("#compose-subject", Input).value = "Plans for Monday"
        screen.query_one("#compose-body", TextArea).text = "half written"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main
        [draft] = kept_drafts(service)
        assert draft.subject == "Plans for Monday"
        raw = service.raw(draft.id).decode()
        assert "bob@example.com, carol@" in raw and "dave at example" in raw
        resumed = service.resume_draft(draft.id)
        assert resumed.to == ["bob@example.com, carol@"]
        assert resumed.cc == ["dave at example"]
        assert resumed.subject == "Plans for Monday"
        assert "half written" in resumed.body


async def test_bcc_and_attach_in_the_composer(make_app: Any, service: Any, tmp_path: Any) -> None:
    from textual.widgets import Input

    from mailcli.tui.screens.compose import ComposeScreen

    attachment = tmp_path / "plan one.txt"
    attachment.write_text("the plan\n")
    app = make_app(mark_read_after=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one("#compose-to", Input).value = "bob@example.com"
        screen.query_one("#compose-bcc", Input).value = "Erin <erin@example.com>"
        screen.query_one("#compose-attach", Input).value = f"'{attachment}'"
        draft = screen.collect()
        assert draft.bcc == ["Erin <erin@example.com>"]
        assert draft.attachments == [attachment]
        assert "erin@example.com" in draft.recipients()
        screen.query_one("#compose-attach", Input).value = str(tmp_path / "missing.txt")
        await pilot.press("ctrl+s")                              # a missing file: not sent
        await settle(pilot)
        assert app.screen is screen
        assert any("no such file" in n.message for n in app._notifications)
        screen.query_one("#compose-attach", Input).value = f"'{attachment}'"
        await pilot.press("escape")
        await settle(pilot)
        [kept] = kept_drafts(service)
        assert kept.has_attachments
        assert [a.filename for a in service.attachments(kept.id)] == ["plan one.txt"]


async def test_resume_a_draft_and_keep_it_replaces_the_old_one(make_app: Any,
                                                               service: Any) -> None:
    from textual.widgets import Input, TextArea

    from mailcli.tui.screens.compose import ComposeScreen

    draft = service.new_draft("work")
    draft.to, draft.subject, draft.body = ["bob@example.com"], "Unfinished", "first lines\n"
    old = service.save_draft("work", draft)
    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.main.goto_folder("work", service.resolve(old).folder)
        await settle(pilot)
        assert app.main.message_list.current.id == old
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        assert screen.query_one("#compose-to", Input).value == "bob@example.com"
        assert screen.query_one("#compose-subject", Input).value == "Unfinished"
        body = screen.query_one("#compose-body", TextArea)
        assert "first lines" in body.text
        body.text += "and more\n"
        await pilot.press("escape")
        await settle(pilot)
    [kept] = kept_drafts(service)
    assert kept.id != old
    assert "and more" in service.show(kept.id, mark_seen=False).text


async def test_send_refuses_a_half_typed_address_instead_of_dropping_it(make_app: Any) -> None:
    from textual.widgets import Input

    app = make_app(mark_read_after=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#compose-to", Input).value = "bob@example.com, carol@"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen                     # not sent to bob alone
        assert any("carol@" in n.message for n in app._notifications)


# ---------------------------------------------------------------------- 7. open with the desktop
async def test_o_opens_the_attachment_with_the_desktop_program(make_app: Any, seeded: dict,
                                                               tmp_path: Any,
                                                               monkeypatch: Any) -> None:
    import os
    import stat

    log = tmp_path / "opened"
    opener = tmp_path / "fake-xdg-open"
    opener.write_text(f"#!/bin/sh\nstat -c %a \"$1\" > '{log}'\n"
                      f"stat -c %a \"$(dirname \"$1\")\" >> '{log}'\ncat \"$1\" >> '{log}'\n")
    opener.chmod(opener.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("MAILCLI_OPENER", str(opener))
    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.message_list.select_id(seeded["attach"])
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        for _ in range(50):
            if log.exists() and log.read_text().count("\n") >= 3:
                break
            await asyncio.sleep(0.05)
        assert log.read_text().splitlines() == ["600", "700", "a,b", "1,2"]
        assert any("Opened numbers.csv" in n.message for n in app._notifications)
        assert os.environ["MAILCLI_OPENER"] == str(opener)


async def test_o_without_html_or_attachment_says_so(make_app: Any, seeded: dict) -> None:
    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert any("Nothing to open" in n.message for n in app._notifications)


# ---------------------------------------------------------------------- 9. small terminals
@pytest.mark.parametrize("size", SIZES)
async def test_the_subject_gets_the_width(make_app: Any, size: tuple) -> None:
    app = make_app(mark_read_after=None)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        lst = app.main.message_list
        from mailcli.tui.widgets.message_list import column_widths

        _, from_w, _, subject_w = column_widths(lst.size.width)
        assert subject_w >= 2 * from_w >= 12                    # 80x24: was 20 vs 9
        assert subject_w >= 26
        tree = app.main.folder_tree
        if size[0] < 70:
            assert not tree.display                            # 60x20: hidden, `b` shows it
            await pilot.press("b")
            await settle(pilot)
            assert tree.display
        else:
            assert tree.display and tree.size.width <= (30 if size[0] >= 100 else 18)
            await pilot.press(*"b" * (2 if size[0] >= 100 else 1))  # full, narrow, hidden
            await settle(pilot)
            assert not tree.display
            assert lst.size.width == size[0]


async def test_space_pages_in_the_message_view(make_app: Any, service: Any,
                                               seeded: dict) -> None:
    from mailcli.tui.screens.message import MessageScreen

    app = make_app(mark_read_after=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        long = "\n".join(f"line {i}" for i in range(200))
        draft = service.new_draft("work")
        draft.to, draft.subject, draft.body = ["a@b.c"], "Long one", long
        kept = service.save_draft("work", draft)
        app.main.goto_folder("work", service.resolve(kept).folder)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MessageScreen)
        body = app.screen.body
        assert body.scroll_y == 0
        await pilot.press("space")
        await settle(pilot)
        assert body.scroll_y >= 10                             # a page, not a line


async def test_search_results_show_the_folder(make_app: Any, seeded: dict) -> None:
    app = make_app(mark_read_after=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"subject:archived", "enter")
        await settle(pilot)
        lst = app.main.message_list
        assert lst.source.total == 3
        assert "Archive" in lst._row_text(lst.source.peek(0), lst.size.width).plain
        assert "Folder" in str(app.main.query_one("#list-header").content)


async def test_status_shows_the_last_sync_time_from_the_cache(config_file: Any,
                                                              seeded: dict) -> None:
    from datetime import timedelta

    from mailcli.service import Service
    from mailcli.store.state import FolderState
    from mailcli.tui.app import MailApp
    from tests.tui.conftest import NOW

    svc = Service.open()
    try:
        when = (NOW - timedelta(days=1)).timestamp()
        svc.store.put_folder_state(FolderState("work", "INBOX", synced_at=when))
        app = MailApp(svc, clock=lambda: NOW, poll_interval=None, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert "last synced Mar 14 (g)" in app.main.status.plain
            assert "not synced yet" not in app.main.status.plain
    finally:
        svc.close()


async def test_busy_clears_when_the_other_fetch_is_done(make_app: Any) -> None:
    import os
    from pathlib import Path

    from mailcli.sync.lock import account_lock

    app = make_app(mark_read_after=None)
    app.busy_check = 0.1
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        with account_lock(Path(os.environ["MAILCLI_DATA"]), "work"), \
                account_lock(Path(os.environ["MAILCLI_DATA"]), "home"):
            await pilot.press("g")
            await settle(pilot, rounds=6)
            await asyncio.sleep(0.3)
            await settle(pilot)
            assert "work busy" in app.main.status.plain          # still held: still busy
        await asyncio.sleep(0.4)
        await settle(pilot)
        assert "busy" not in app.main.status.plain


async def test_sort_by_subject_and_size(make_app: Any, seeded: dict) -> None:
    app = make_app(mark_read_after=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("O")
        await settle(pilot)
        assert app.main.sort == "subject asc"
        lst = app.main.message_list
        subjects = [lst.source.peek(i).envelope.subject.lower() for i in range(5)]
        assert subjects == sorted(subjects)
        await pilot.press("O")
        await settle(pilot)
        assert app.main.sort == "size desc"
        assert lst.current.id == seeded["attach"]               # the one with a CSV
