"""The TUI never treats message or server text as Textual markup.

Attachment names, folder names and server replies reach notifications and the command
palette. With markup on, `[@click=app.screenshot('.bashrc','..')]invoice.pdf` showed
"invoice.pdf" and one click wrote `../.bashrc`; `[a='x]invoice.pdf` or a folder named
`[/]` crashed the app. Driven with Textual's Pilot on a real cache."""
from __future__ import annotations

import ast
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from textual.widgets import Input

import mailcli.tui
from tests.tui.conftest import SIZE, settle

CLICK = "[@click=app.screenshot('.bashrc','..')]invoice.pdf"
BROKEN = "[a='x]invoice.pdf"
FOLDER = "[/]"


def hostile_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Mallory <mal@evil.example>"
    msg["To"] = "me@example.test"
    msg["Subject"] = "Your invoice"
    msg["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"
    msg.set_content("see attached\n")
    for name in (CLICK, BROKEN):
        msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


def toasts(app: Any) -> list[str]:
    """The text of the toasts on screen (what Textual makes of each notification)."""
    from textual.widgets._toast import Toast

    return [t.render().plain for s in app.screen_stack for t in s.query(Toast)]


async def test_attachment_and_folder_names_are_never_markup(make_app: Any, service: Any,
                                                            tmp_path: Path) -> None:
    mid = service.store.deliver("work", "INBOX", hostile_message(), uid=900)
    service.store.deliver("work", FOLDER, hostile_message(), uid=1)
    dest = tmp_path / "out" / "deep"
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # toasts really drawn
        await settle(pilot)
        assert app.main.message_list.select_id(mid)
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        app.screen.query_one("#save-dir", Input).value = str(dest)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.pause(0.2)
        saved = [n for n in app._notifications if "Saved 2 file(s)" in n.message]
        assert saved, [n.message for n in app._notifications]
        # shown literally (the sanitizer keeps [ ] @ = ( ) ' in file names)...
        assert "[@click=app.screenshot(" in saved[0].message and BROKEN in saved[0].message
        assert any("[@click=app.screenshot(" in t and BROKEN in t for t in toasts(app)), toasts(app)
        # ...and nothing outside the target directory was written
        assert sorted(p.name for p in dest.iterdir()) == sorted([CLICK, BROKEN])
        assert not (tmp_path / "out" / ".bashrc").exists()

        # a folder named "[/]": move there, then the command palette lists it
        env = app.current_envelope
        app._move([env], FOLDER)
        await settle(pilot)
        assert any(n.message == f"Moved to {FOLDER}" for n in app._notifications)
        assert any(f"Moved to {FOLDER}" in t for t in toasts(app))
        for keys in (["ctrl+p"], list("go"), ["escape"]):  # the palette lists "[/]"
            await pilot.press(*keys)
            await settle(pilot)

        # even an explicit markup=True from anywhere in the app is plain text
        app.notify("[b]server said[/b] [@click=app.quit]x", title="[red]T", markup=True)
        await pilot.pause()
        assert all(n.markup is False for n in app._notifications)
        assert any("[b]server said[/b]" in t for t in toasts(app))
        assert app.is_running


async def test_palette_prompts_with_hostile_folder_names_are_plain(make_app: Any,
                                                                   service: Any) -> None:
    from mailcli.tui.commands import MailCommands

    service.store.deliver("work", CLICK, hostile_message(), uid=1)
    service.store.deliver("work", FOLDER, hostile_message(), uid=1)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        provider = MailCommands(app.screen)
        prompts = [hit.prompt async for hit in provider.discover()]
        prompts += [hit.prompt async for hit in provider.search("go")]
        from textual.content import Content

        plain = [Content.from_rich_text(p).plain if hasattr(p, "spans") and not
                 isinstance(p, Content) else Content.from_markup(p).plain for p in prompts]
        assert any(f"work/{FOLDER}" in p for p in plain), plain
        assert any(f"work/{CLICK}" in p for p in plain), plain


# Widgets that parse a str as markup unless told not to.
MARKUP_WIDGETS = {"Static", "Label", "Button"}


def test_no_tui_code_builds_markup_from_strings() -> None:
    """Every Static/Label in mailcli/tui is created with markup=False (a Button only with
    a literal label), no notify()
    asks for markup, and palette hits get Text/escaped prompts: a new call site that
    forgets fails here."""
    problems = []
    root = Path(mailcli.tui.__file__).parent
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")
            kw = {k.arg: k.value for k in node.keywords}
            where = f"{path.relative_to(root)}:{node.lineno}"
            literal = node.args and isinstance(node.args[0], ast.Constant)
            if name in MARKUP_WIDGETS and not (name == "Button" and literal):
                value = kw.get("markup")
                if not (isinstance(value, ast.Constant) and value.value is False):
                    problems.append(f"{where}: {name}(...) without markup=False")
            if name == "notify":
                value = kw.get("markup")
                if value is not None and not (isinstance(value, ast.Constant)
                                              and value.value is False):
                    problems.append(f"{where}: notify(markup=...)")
            if name in ("Hit", "DiscoveryHit"):
                src = ast.unparse(node)
                if "Text(" not in src and "escape(" not in src:
                    problems.append(f"{where}: {name} with a str prompt")
    assert problems == []
