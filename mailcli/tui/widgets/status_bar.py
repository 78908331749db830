"""The status bar: where you are (folder/search, count, sort, threads) on the left; sync
progress, last sync time, offline state, the last error and the watcher's state of each
account (idle, syncing, reconnecting...) on the right."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from mailcli.tui import display


class StatusBar(Static):
    """Two halves: `where` (left) and the sync state (right)."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.clock = clock
        self.where = ""
        self.progress = ""
        self.last_sync: datetime | None = None
        self.cached_sync: datetime | None = None  # from the cache, before a sync here
        self.offline: list[str] = []
        self.error = ""
        self.watch_states: dict[str, str] = {}   # account -> the watcher's state

    def set_where(self, where: str) -> None:
        self.where = where
        self._draw()

    def set_watch(self, account: str, state: str) -> None:
        """The watcher's state of `account` ("idle", "syncing", "reconnecting", ...)."""
        self.watch_states[account] = state
        self._draw()

    def set_progress(self, text: str) -> None:
        self.progress = text
        self._draw()

    def sync_done(self, when: datetime, offline: list[str], error: str) -> None:
        self.progress = ""
        self.last_sync = when
        self.offline = offline
        self.error = error
        self._draw()

    @property
    def right(self) -> str:
        parts = []
        if self.progress:
            parts.append(self.progress)
        elif self.last_sync is not None:
            parts.append("synced " + display.short_date(self.last_sync, self.clock()))
        elif self.cached_sync is not None:
            parts.append("last synced " + display.short_date(self.cached_sync, self.clock())
                         + " (g)")
        else:
            parts.append("not synced yet (g)")
        if self.offline:
            parts.append("offline: " + ", ".join(self.offline))
        if self.error:
            parts.append(self.error)
        if self.watch_states:
            parts.append(", ".join(f"{a} {s}" for a, s in self.watch_states.items()))
        return " | ".join(parts)

    def set_cached_sync(self, when: datetime | None) -> None:
        self.cached_sync = when
        self._draw()

    def clear_busy(self) -> None:
        """The other fetch has finished: drop the "busy" note."""
        self.error = ", ".join(p for p in self.error.split(", ") if not p.endswith("busy"))
        self._draw()

    def _draw(self) -> None:
        right = self.right
        width = max(self.size.width - 2, 20)
        left = self.where
        room = max(0, width - len(right) - 1)
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(left[:room].ljust(room))
        text.append(" ")
        text.append(right, style="bold" if (self.error or self.offline) else "")
        self.update(text)

    def on_resize(self) -> None:
        self._draw()

    @property
    def plain(self) -> str:
        return f"{self.where} {self.right}"
