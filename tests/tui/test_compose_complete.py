"""The composer's address completion from the address book and its From cycling through
the account's identities (issue 19), driven by key presses through Pilot."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import CONFIG, settle

IDENTITIES = """
[[accounts.work.identities]]
email = "me@work.example"
name = "Me at Work"
signature = "Work signature"

[[accounts.work.identities]]
email = "boss@example.test"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = Path(os.environ["MAILCLI_CONFIG"])
    account, rest = CONFIG.split("[accounts.home]")
    path.write_text(account + 'signature = "Plain me"\n' + IDENTITIES + "\n[accounts.home]" + rest)
    return path


async def open_composer(pilot: Any) -> Any:
    from mailcli.tui.screens.compose import ComposeScreen

    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ComposeScreen)
    return screen


def shown(screen: Any) -> list[str]:
    from textual.widgets import OptionList

    completions = screen.query_one("#compose-complete", OptionList)
    if not completions.display:
        return []
    return [str(completions.get_option_at_index(i).prompt) for i in range(completions.option_count)]


async def test_typing_completes_from_the_address_book_and_tab_takes_it(make_app: Any) -> None:
    from textual.widgets import Input

    app = make_app(mark_read_after=None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_composer(pilot)
        to = screen.query_one("#compose-to", Input)
        assert to.has_focus
        await pilot.press("a", "l", "i")
        await settle(pilot)
        assert shown(screen)[0] == "Alice Archer <alice@example.org>"   # the best first
        await pilot.press("tab")
        await settle(pilot)
        assert to.value == "Alice Archer <alice@example.org>" and to.has_focus
        assert shown(screen) == []
        # the last address of a comma-separated field; a match by surname; ↓ picks
        await pilot.press(*", ")
        await pilot.press(*"example.")
        await settle(pilot)
        candidates = shown(screen)
        assert len(candidates) >= 3 and "Bob Baker <bob@example.com>" in candidates
        assert "Alice Archer <alice@example.org>" not in candidates   # already in the field
        await pilot.press("down")
        await pilot.press("tab")
        await settle(pilot)
        assert to.value == f"Alice Archer <alice@example.org>, {candidates[1]}"
        # Tab with nothing to take moves on to the next field
        await pilot.press("tab")
        assert screen.query_one("#compose-cc", Input).has_focus
        await pilot.press(*"chen")
        await settle(pilot)
        assert shown(screen)[0] == "Carol Chen <carol@example.net>"
        await pilot.press("escape")          # closes the list, not the composer
        await settle(pilot)
        assert app.screen is screen and shown(screen) == []
        await pilot.press("escape")          # now it leaves (keeping the draft)
        await settle(pilot)
        assert app.screen is app.main
        draft = screen.draft
        assert draft.to == [f"Alice Archer <alice@example.org>, {candidates[1]}"]
        assert draft.cc == ["chen"]


async def test_bcc_completes_and_the_result_is_sent_to_the_contact(make_app: Any) -> None:
    from textual.widgets import Input

    app = make_app(mark_read_after=None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_composer(pilot)
        screen.query_one("#compose-bcc", Input).focus()
        await pilot.press(*"dave")
        await settle(pilot)
        assert shown(screen)[0] == "Dave Dunn <dave@example.org>"
        await pilot.press("tab")
        draft = screen.collect()
        assert draft.bcc == ["Dave Dunn <dave@example.org>"]
        # a click on a candidate takes it too
        screen.query_one("#compose-cc", Input).focus()
        await pilot.press(*"erin")
        await settle(pilot)
        assert shown(screen)[0] == "Erin Ellis <erin@example.com>"
        await pilot.click("#compose-complete", offset=(3, 1))
        await settle(pilot)
        assert screen.query_one("#compose-cc", Input).value == "Erin Ellis <erin@example.com>"
        assert shown(screen) == [] and screen.query_one("#compose-cc", Input).has_focus
        # leaving the field (Shift+Tab) closes its list
        await pilot.press(*", ali")
        await settle(pilot)
        assert shown(screen)
        await pilot.press("shift+tab")
        await settle(pilot)
        assert shown(screen) == [] and screen.query_one("#compose-to", Input).has_focus
        # a value set by the program (not typed) opens no list
        screen.query_one("#compose-bcc", Input).value = "erin"
        await settle(pilot)
        assert shown(screen) == []


async def test_contact_names_are_shown_as_text_not_markup(make_app: Any, service: Any) -> None:
    from textual.widgets import Input

    from mailcli.model import Flag

    evil = ("From: \"[b]Mallory[/b] \x1b[31m[link='x']\" <mallory@example.org>\r\n"
            "To: me@example.test\r\nSubject: hi\r\nMessage-ID: <evil-contact@x>\r\n\r\nhi\r\n")
    service.store.deliver("work", "INBOX", evil.encode(), flags={Flag.SEEN}, uid=999)
    app = make_app(mark_read_after=None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_composer(pilot)
        assert screen.query_one("#compose-to", Input).has_focus
        await pilot.press(*"mallory@")
        await settle(pilot)
        line = shown(screen)[0]
        assert "[b]Mallory[/b]" in line and "[link='x']" in line and "\x1b" not in line
        await pilot.press("tab")
        assert "mallory@example.org" in screen.query_one("#compose-to", Input).value


async def test_ctrl_f_cycles_the_from_through_the_identities_and_the_signature_follows(
        make_app: Any) -> None:
    from textual.widgets import Static, TextArea

    app = make_app(mark_read_after=None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_composer(pilot)
        body = screen.query_one("#compose-body", TextArea)
        from_line = screen.query_one("#compose-from", Static)

        def from_shown() -> str:
            return str(from_line.render())

        assert screen.draft.from_ == "Me Myself <me@example.test>"
        assert "Me Myself <me@example.test>" in from_shown() and "Ctrl+F" in from_shown()
        assert body.text.endswith("-- \nPlain me\n")
        body.text = "Dear Bob,\n\n" + body.text
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert screen.draft.from_ == "Me at Work <me@work.example>"
        assert "Me at Work <me@work.example>" in from_shown()
        assert body.text.startswith("Dear Bob,") and body.text.endswith("-- \nWork signature\n")
        assert body.text.count("-- \n") == 1
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert screen.draft.from_ == "Me Myself <boss@example.test>"  # the account's name
        assert body.text.endswith("-- \nPlain me\n") and body.text.count("-- \n") == 1
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert screen.draft.from_ == "Me Myself <me@example.test>"     # round the cycle
        assert screen.draft.account == "work"


async def test_the_help_screen_lists_the_composer_keys(make_app: Any) -> None:
    from mailcli.tui.screens.help import help_table

    app = make_app(mark_read_after=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        from rich.console import Console

        console = Console(width=100, record=True, file=io.StringIO())
        console.print(help_table(app.configured_keys))
        text = console.export_text()
        assert "Composer" in text and "ctrl+f" in text and "next identity" in text
        assert "cycle_from" in text and "complete" in text


async def test_the_from_key_can_be_rebound(make_app: Any) -> None:
    app = make_app(mark_read_after=None)
    async with app.run_test(size=(100, 30)) as pilot:
        app.set_keymap({"cycle_from": "ctrl+o"})      # what [tui.keys] cycle_from = "ctrl+o" does
        screen = await open_composer(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert screen.draft.from_ == "Me Myself <me@example.test>"
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert screen.draft.from_ == "Me at Work <me@work.example>"
