"""Pilot tests: the main screen, the list, preview, message view, search, sort, threads,
help and the command palette, against a seeded store."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input

from mailcli.model import Flag
from mailcli.tui.screens.help import HelpScreen
from mailcli.tui.screens.message import MessageScreen
from tests.tui.conftest import SIZE, settle


def rows(app: Any, n: int | None = None) -> list[str]:
    """The message list's rows as the screen draws them (plain text)."""
    lst = app.main.message_list
    total = lst.source.total if n is None else min(n, lst.source.total)
    out = []
    for i in range(total):
        row = lst.source.peek(i)
        out.append(lst._row_text(row, 100).plain if row else "…")
    return out


async def test_main_screen_shows_tree_list_preview_and_status(make_app: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.main.folder_tree
        labels = [str(n.label) for n in tree._by_target.values()]
        # (start-up marks nothing read: issue 20)
        assert "work (11)" in labels and "INBOX (9)" in labels and "home (1)" in labels
        assert "python-dev (2)" in labels and "Archive" in labels
        lst = app.main.message_list
        assert lst.source.total == 27
        assert lst.current is not None and lst.current.id == seeded["evil"]
        # first row is the newest, still unread though the preview shows it
        assert "Mallory" in rows(app, 1)[0] and rows(app, 1)[0].startswith(" N")
        assert "work/INBOX | 27 messages" in app.main.status.plain
        assert "not synced yet" in app.main.status.plain
        assert "Hello" in app.main.preview.text


async def test_j_k_move_and_the_preview_does_not_mark_seen(make_app: Any, service: Any,
                                                           seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert Flag.SEEN not in service.resolve(seeded["inbox0"]).flags
        await pilot.press("j")
        await settle(pilot)
        assert app.main.message_list.current.id == seeded["inbox0"]
        assert "Message number 0." in app.main.preview.text
        # passing by is not reading ([tui] mark_read_after: tests/tui/test_daily.py)
        assert Flag.SEEN not in service.resolve(seeded["inbox0"]).flags
        await pilot.press("j", "j", "k")
        await settle(pilot)
        assert app.main.message_list.current.id == seeded["inbox1"]
        labels = [str(n.label) for n in app.main.folder_tree._by_target.values()]
        assert "INBOX (9)" in labels


async def test_enter_opens_full_view_n_p_walk_q_closes(make_app: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MessageScreen)
        assert "Message number 0." in app.screen.body.text
        await pilot.press("n")
        await settle(pilot)
        assert app.screen.envelope.id == seeded["inbox1"]
        assert "Message number 1." in app.screen.body.text
        await pilot.press("p", "p")
        await settle(pilot)
        assert app.screen.envelope.id == seeded["evil"]
        await pilot.press("q")
        await settle(pilot)
        assert app.screen is app.main
        assert app.main.message_list.current.id == seeded["evil"]


async def test_headers_on_demand(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Message-ID" not in app.main.preview.text
        await pilot.press("H")
        await settle(pilot)
        assert "Message-ID: <m300@example.test>" in app.main.preview.text
        await pilot.press("H")
        assert "Message-ID" not in app.main.preview.text


async def test_folder_tree_selects_folder(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        assert app.focused is app.main.folder_tree
        app.main.folder_tree.select_target("work", "Archive")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.view.folder == "Archive"
        assert app.main.message_list.source.total == 3
        assert app.focused is app.main.message_list
        assert all("Archived thing" in r for r in rows(app))


async def test_search_uses_the_query_language(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"from:alice")
        app.main.query_one("#search", Input).value += " is:unread"
        await pilot.press("enter")
        await settle(pilot)
        found = rows(app)
        assert found and all("Alice Archer" in r for r in found)
        assert all(r.startswith(" N") for r in found)  # the preview marks nothing read
        assert "search: from:alice is:unread | " in app.main.status.plain
        await pilot.press("escape")
        await settle(pilot)
        assert app.main.view.query is None
        assert app.main.message_list.source.total == 27


async def test_search_error_is_a_notification(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        app.main.query_one("#search", Input).value = "before:2024-13-45"
        await pilot.press("enter")
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert any("bad search query" in m and "2024-13-45" in m for m in notes)
        assert app.focused.id == "search"


async def test_sort_orders_cycle(make_app: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        assert app.main.sort == "date asc"
        assert app.main.message_list.current.id == seeded["thread_root"]
        assert "oldest first" in str(app.main.query_one("#list-header").content)
        await pilot.press("O")
        await settle(pilot)
        assert app.main.sort == "from asc"
        assert "Alice Archer" in rows(app, 1)[0]


async def test_threads_group_replies_under_their_parent(make_app: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("T")
        await settle(pilot)
        src = app.main.message_list.source
        idx = src.index_of(seeded["thread_root"])
        assert src.peek(idx + 1).envelope.id == seeded["thread_reply"]
        assert src.peek(idx + 1).depth == 1
        assert "└─Re: Thread start" in rows(app)[idx + 1]
        assert "threads" in app.main.status.plain


async def test_help_lists_the_bindings_and_config_rebinds(make_app: Any, config_file: Path,
                                                          service: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_rebinding_from_config(config_file: Path, seeded: dict, tmp_path: Path) -> None:
    from mailcli.service import Service
    from mailcli.tui.app import MailApp
    from mailcli.tui.screens.compose import ComposeScreen
    from tests.tui.conftest import NOW

    config_file.write_text(config_file.read_text()
                           + '\n[tui.keys]\nreply = "a"\ntoggle_flag = "x"\nbogus = "z"\n')
    service = Service.open()
    try:
        app = MailApp(service, clock=lambda: NOW, poll_interval=None, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert any("bogus" in n.message for n in app._notifications)
            await pilot.press("x")
            await settle(pilot)
            assert Flag.FLAGGED in service.resolve(seeded["evil"]).flags
            await pilot.press("r")  # no longer reply
            await settle(pilot)
            assert app.screen is app.main
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, ComposeScreen)
            from mailcli.tui.screens.help import help_table
            from rich.console import Console

            console = Console(width=100, record=True)
            console.print(help_table(app.configured_keys))
            text = console.export_text()
            assert any(line.split()[:2] == ["a", "Reply"] for line in text.splitlines())
    finally:
        service.close()


async def test_command_palette_runs_actions(make_app: Any, service: Any, seeded: dict) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"flag")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert Flag.FLAGGED in service.resolve(seeded["evil"]).flags
        await pilot.press("ctrl+p")
        await pilot.press(*"Archi")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.view.folder == "Archive"


async def test_large_folder_pages_in_only_what_is_on_screen(make_app: Any, service: Any,
                                                           monkeypatch: Any) -> None:
    from datetime import timedelta

    from mailcli.service import Service
    from mailcli.tui.rows import PAGE
    from tests.tui.conftest import NOW, raw_message

    n = 4 * PAGE + 50
    with service.store.batch():
        for i in range(n):
            service.store.deliver("work", "Big", raw_message(
                1000 + i, subject=f"Bulk {i}", sender="Bulk <b@example.org>",
                when=NOW - timedelta(minutes=i), body="x\n"), uid=5000 + i, fsync=False)
    calls: list[tuple[int, int]] = []
    original = Service.list_envelopes

    def page(self: Service, account: Any = None, folder: Any = None, unread: bool = False,
             limit: int = 50, offset: int = 0, order: str = "date desc") -> Any:
        calls.append((offset, limit))
        return original(self, account, folder, unread, limit, offset, order)

    monkeypatch.setattr(Service, "list_envelopes", page)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls.clear()
        app.main.goto_folder("work", "Big")
        await settle(pilot)
        lst = app.main.message_list
        assert lst.source.total == n
        assert calls == [(0, PAGE)]                      # one page, not 450 rows
        assert "Bulk 0" in rows(app, 1)[0]
        await pilot.press("end")
        await settle(pilot)
        assert calls[-1] == (4 * PAGE, PAGE)
        assert lst.current.subject == f"Bulk {n - 1}"
        assert lst.source.peek(2 * PAGE) is None          # the middle was never read
        await pilot.press("pageup")
        await settle(pilot)
        assert lst.current.subject == f"Bulk {n - 1 - (lst.size.height - 1)}"
