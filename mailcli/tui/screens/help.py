"""The help screen: every key binding in force (after the config's [tui.keys])."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mailcli.tui import keys

if TYPE_CHECKING:
    from mailcli.tui.app import MailApp

SCOPES = (("app", "Current message (list and message view)"), ("main", "Main screen"),
          ("list", "Message list"), ("tree", "Folder tree"), ("view", "Message view"),
          ("compose", "Composer"))


def help_table(configured: dict[str, str]) -> Group:
    """One table per scope, with the key(s) in force and the config name to rebind."""
    tables = []
    effective = keys.effective(configured)
    extra = {"main": [("Ctrl+P", "Command palette (every action, go to folder, sort)", ""),
                      ("Ctrl+Q", "Quit", "")]}
    for scope, title in SCOPES:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1),
                      title=title, title_justify="left", title_style="bold underline")
        table.add_column("key", style="bold", width=14, no_wrap=True)
        table.add_column("action", ratio=1)
        table.add_column("config name", style="dim", width=14, no_wrap=True)
        for key, bound in effective:
            if key.scope == scope:
                table.add_row(keys.display_keys(bound), key.description, key.id)
        for row in extra.get(scope, []):
            table.add_row(*row)
        tables.append(table)
    return Group(*tables)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", show=True)]

    app: MailApp

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("mailcli keys  (rebind in config.toml: [tui.keys] <config name> = \"key\")",
                              style="bold"), markup=False, id="help-title")
            yield Static(help_table(self.app.configured_keys), markup=False, id="help-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss()
