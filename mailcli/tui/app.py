"""The mailcli Textual App: start-up, key bindings (rebindable), screen routing.

Layout lives in app.tcss and the screens (mailcli.tui.screens), behaviour of the keys in
mailcli.tui.actions. The App talks to mailcli only through its typed
mailcli.service.Service (``app.service``).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.screen import Screen

from mailcli.errors import MailcliError
from mailcli.tui import keys
from mailcli.tui.actions import MailActions
from mailcli.tui.commands import ACTIONS, MailCommands
from mailcli.tui.display import system_clock
from mailcli.tui.messages import MailChanged, WatchNote, WatchState
from mailcli.tui.screens.main import MainScreen
from mailcli.tui.watching import TuiWatcher

if TYPE_CHECKING:
    from mailcli.service import Service

logger = logging.getLogger(__name__)

# actions that need a current message and make sense only on these screens
MESSAGE_ACTIONS = {"reply", "reply_all", "forward", "delete", "move", "save_attachments",
                   "toggle_read", "toggle_flag", "toggle_headers", "compose", "sync", "help",
                   "undo", "mark_all_read", "open_part", "resume_draft"}
_FROM_CONFIG = object()


class MailApp(MailActions):
    """`MailApp(service)`; `clock` fixes "now" (tests), `poll_interval` None disables the
    periodic check for mail delivered by another process (cron `mailcli fetch`),
    `preview_delay` is how long the cursor rests before the preview loads (0: at once),
    `mark_read_after` how long the preview must rest on an unread message the user moved
    to before it is marked read (None: only opening it; default: [tui] mark_read_after),
    `watch` runs `mailcli watch`'s watcher while the App runs (tui/watching.py: new mail
    appears by itself; `mailcli tui` turns it on)."""

    CSS_PATH = "app.tcss"
    TITLE = "mailcli"
    BINDINGS = keys.bindings("app")
    COMMANDS = App.COMMANDS | {MailCommands}

    def __init__(self, service: Service, *, clock: Callable[[], datetime] = system_clock,
                 poll_interval: float | None = 30.0, save_dir: Path | None = None,
                 preview_delay: float = 0.08,
                 mark_read_after: float | None | object = _FROM_CONFIG,
                 watch: bool = False) -> None:
        super().__init__()
        self.service = service
        self.clock = clock
        self.poll_interval = poll_interval
        self.preview_delay = preview_delay
        self.mark_read_after: float | None = (
            service.config.tui.mark_read_after if mark_read_after is _FROM_CONFIG
            else mark_read_after)  # type: ignore[assignment]
        # messages the user marked unread in this session: never marked read by resting
        self.kept_unread: set[int] = set()
        self.undo_stack = []
        downloads = Path.home() / "Downloads"
        self.save_dir = save_dir or (downloads if downloads.is_dir() else Path.cwd())
        configured = dict(service.config.tui.keys)
        self.keymap_config, self.unknown_keys = keys.keymap(configured)
        self.configured_keys = self.keymap_config
        self.main = MainScreen()
        self._poll_signature: tuple[tuple[str, str, int, int], ...] | None = None
        self.watcher = TuiWatcher(self) if watch else None

    def get_default_screen(self) -> Screen[Any]:
        return self.main

    def on_mount(self) -> None:
        if self.keymap_config:
            self.set_keymap(self.keymap_config)
        if self.unknown_keys:
            known = ", ".join(k.id for k in keys.KEYS)
            self.notify(f"Unknown action(s) in [tui.keys]: {', '.join(self.unknown_keys)}\n"
                        f"known: {known}", title="Config", severity="warning", timeout=10)
        if self.poll_interval:
            self.set_interval(self.poll_interval, self._poll)
        if self.watcher is not None:
            self.watcher.start()

    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    # ------------------------------------------------------------------ the watcher
    def on_watch_state(self, message: WatchState) -> None:
        self.main.status.set_watch(message.account, message.state)

    def on_watch_note(self, message: WatchNote) -> None:
        if message.severity == "error":
            self.notify(message.text, title="Watch", severity="error", timeout=10)
        else:
            self.notify(message.text, title="New mail", timeout=6)

    # ------------------------------------------------------------------ routing
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MESSAGE_ACTIONS:
            name = type(self.screen).__name__
            return name in ("MainScreen", "MessageScreen")
        return True

    def action_help(self) -> None:
        from mailcli.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_toggle_headers(self) -> None:
        body = getattr(self.screen, "body", None) or getattr(self.screen, "preview", None)
        if body is not None:
            body.toggle_headers()

    def run_palette_action(self, action: str) -> None:
        """Run a command palette entry (main-screen actions return to the main screen)."""
        if hasattr(self.main, f"action_{action}"):
            while self.screen is not self.main and len(self.screen_stack) > 1:
                self.pop_screen()
            getattr(self.main, f"action_{action}")()
        elif action in {a for _, _, a in ACTIONS}:
            getattr(self, f"action_{action}")()

    # ------------------------------------------------------------------ new mail from elsewhere
    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _poll(self) -> None:
        """Mail delivered by another process (cron fetch): reload when the counts moved."""
        if self.sync_running:
            return
        try:
            summaries = self.service.folders()
        except MailcliError:
            return
        signature = tuple((s.account, s.folder, s.total, s.unread) for s in summaries)
        if self._poll_signature is not None and signature != self._poll_signature:
            self.call_from_thread(self.main.post_message, MailChanged())
        self._poll_signature = signature
