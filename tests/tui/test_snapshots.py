"""SVG snapshots (pytest-textual-snapshot) of the main screen, the message view, search
results, the help screen, an error, and a hostile message shown neutralized.

Deterministic: seeded store, fixed clock, UTC, no animations, no cursor blink, 120x36.
Regenerate with `pytest tests/tui/test_snapshots.py --snapshot-update` and look at them.
"""
from __future__ import annotations

from typing import Any

from textual.widgets import Input

from tests.tui.conftest import SIZE, settle


async def _ready(pilot: Any) -> None:
    for inp in pilot.app.query(Input):
        inp.cursor_blink = False
    await settle(pilot)


def _no_blink(pilot: Any) -> None:
    for inp in pilot.app.screen.query(Input):
        inp.cursor_blink = False


def test_main_screen(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("j")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_message_view(snap_compare: Any, make_app: Any, seeded: dict) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        pilot.app.main.message_list.select_id(seeded["attach"])
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_search_results(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("slash")
        pilot.app.main.query_one("#search", Input).value = "subject:report OR has:attachment"
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_error_notification(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("slash")
        pilot.app.main.query_one("#search", Input).value = "after:2024-02-30"
        _no_blink(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_escape_sequences_neutralized(snap_compare: Any, make_app: Any, seeded: dict) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        pilot.app.main.message_list.select_id(seeded["evil"])
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("H")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
