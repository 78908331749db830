"""The TUI's watcher: `mailcli watch`'s watcher (service.watch) on a thread of its own, so
new mail appears in the list and the folder counts without `g`, and the status bar shows
each account's state (connecting, syncing, idle, reconnecting, failed).

A plain daemon thread rather than a Textual thread worker: it runs for the life of the
App, and a worker would hold up the App's worker pool and its shutdown. The watcher's
events arrive on its threads and are posted as Messages (post_message is thread-safe);
quitting sets the stop event (the watcher stops within seconds, its locks released).
The new-mail hook is `mailcli watch`'s business, not the TUI's (a user running both
would get every hook twice); the TUI tells about new mail with a notification.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from mailcli.errors import MailcliError
from mailcli.message.sanitize import safe_line
from mailcli.tui.messages import MailChanged, WatchNote, WatchState

if TYPE_CHECKING:
    from mailcli.service import WatchEvent
    from mailcli.tui.app import MailApp

logger = logging.getLogger(__name__)


class TuiWatcher:
    """start() once the App is mounted; stop() when it quits."""

    def __init__(self, app: MailApp) -> None:
        self.app = app
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.app.service.account_names():
            return          # nothing to watch (the TUI says how to add an account)
        self.thread = threading.Thread(target=self._run, name="tui-watch", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def _run(self) -> None:
        try:
            self.app.service.watch(None, self.event, stop=self.stop_event, hooks=False)
        except MailcliError as exc:
            self.app.post_message(WatchNote(f"Watching for new mail stopped: {exc.message}",
                                            "error"))
        except Exception:  # noqa: BLE001 - the TUI keeps working without the watcher
            logger.exception("the TUI's watcher failed")
            self.app.post_message(WatchNote("Watching for new mail failed (see the log)",
                                            "error"))

    def event(self, ev: WatchEvent) -> None:
        """Called on the watcher's threads."""
        from mailcli.service import Disconnected, NewMail, State, Stopped, Synced

        app = self.app
        if isinstance(ev, State):
            app.post_message(WatchState(ev.account, ev.state))
        elif isinstance(ev, Synced) and (ev.new or ev.updated or ev.deleted):
            app.main.post_message(MailChanged())
        elif isinstance(ev, NewMail):
            app.main.post_message(MailChanged())
            n = len(ev.messages)
            last = ev.messages[-1]
            app.post_message(WatchNote(
                f"{n} new in {safe_line(ev.account)}/{safe_line(ev.folder)}: "
                f"{safe_line(last.from_)[:40]}: {safe_line(last.subject)[:60]}", "information"))
        elif isinstance(ev, Disconnected):
            logger.info("%s: disconnected: %s", ev.account, ev.error)
        elif isinstance(ev, Stopped) and ev.error:
            app.post_message(WatchNote(f"{safe_line(ev.account)}: {safe_line(ev.error)}",
                                       "error"))
