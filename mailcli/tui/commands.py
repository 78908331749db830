"""Command palette (Ctrl+P) entries: every action, sort orders, threads, go to a folder."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from mailcli.message.sanitize import safe_line

if TYPE_CHECKING:
    from mailcli.tui.app import MailApp

ACTIONS = (
    ("Sync all accounts", "Fetch new mail and push local changes (g)", "sync"),
    ("Compose", "Write a new message (c)", "compose"),
    ("Reply", "Reply to the sender (r)", "reply"),
    ("Reply all", "Reply to everyone (R)", "reply_all"),
    ("Forward", "Forward the message (f)", "forward"),
    ("Delete", "Delete the message (d)", "delete"),
    ("Move", "Move the message to another folder (m)", "move"),
    ("Save attachments", "Save the attachments to a directory (s)", "save_attachments"),
    ("Toggle read/unread", "Mark the message read or unread (N)", "toggle_read"),
    ("Toggle flag", "Flag or unflag the message (F)", "toggle_flag"),
    ("Toggle headers", "Show every header of the message (H)", "toggle_headers"),
    ("Search", "Search all mail: from: subject: is:unread ... (/)", "search"),
    ("Toggle threads", "Group the list by conversation (T)", "toggle_threads"),
    ("Undo", "Take back the last change not yet on the server (u)", "undo"),
    ("Mark all read", "Mark the selection, else the whole list, read (A)", "mark_all_read"),
    ("Open with the desktop", "Open the HTML part or an attachment (o)", "open_part"),
    ("Resume draft", "Go on writing the draft under the cursor (D)", "resume_draft"),
    ("Toggle sidebar", "Full, narrow or hidden folder sidebar (b)", "toggle_sidebar"),
    ("Help", "Show every key binding (?)", "help"),
)


class MailCommands(Provider):
    """mailcli's commands for Textual's command palette."""

    @property
    def mail_app(self) -> MailApp:
        return self.app  # type: ignore[return-value]

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.mail_app
        out: list[tuple[str, str, Callable[[], object]]] = []
        for name, help_text, action in ACTIONS:
            out.append((name, help_text, partial(app.run_palette_action, action)))
        from mailcli.tui.screens.main import SORTS

        for i, (_, label) in enumerate(SORTS):
            out.append((f"Sort: {label}", "Order the message list", partial(app.main.set_sort, i)))
        for s in app.main.folder_tree.summaries:
            label = f"Go to {safe_line(s.account)}/{safe_line(s.folder)}"
            out.append((label, f"{s.total} messages, {s.unread} unread",
                        partial(app.main.goto_folder, s.account, s.folder)))
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            # a str prompt or help is parsed as markup, and names carry folder names
            yield DiscoveryHit(Text(name), callback, help=escape(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(escape(name)), callback,
                          help=escape(help_text))
