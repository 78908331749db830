"""What `mailcli watch` reports: one frozen dataclass per event kind, each with the
SPEC.md `watch --json` object it prints (`{"event", "time", "account", ...}`).

The watcher (sync/watch.py) emits them from its account threads; consumers (the CLI's
JSON lines, hooks and desktop notifications in service/hooks.py, the TUI's status bar)
receive them through one callable. `State` is internal (the TUI's per-account status)
and has no JSON form.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mailcli.model import Envelope


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Event:
    account: str
    time: datetime = field(default_factory=_now, kw_only=True)

    kind = ""

    def to_json(self) -> dict[str, object]:
        return {"event": self.kind, "time": self.time.isoformat(timespec="seconds"),
                "account": self.account, **self._extra()}

    def _extra(self) -> dict[str, object]:
        return {}


@dataclass(frozen=True)
class Started(_Event):
    """The account's first sync is done and it waits for changes (once per account; after
    a reconnect there is `Reconnected`). `mode` says how: "notify", "idle", "poll"."""

    mode: str = ""
    kind = "started"

    def _extra(self) -> dict[str, object]:
        return {"mode": self.mode} if self.mode else {}


@dataclass(frozen=True)
class Synced(_Event):
    """A sync ran (the first whole-account one, or one folder that changed)."""

    new: int = 0
    updated: int = 0
    deleted: int = 0
    folder: str | None = None
    errors: tuple[str, ...] = ()
    kind = "synced"

    def _extra(self) -> dict[str, object]:
        out: dict[str, object] = {"new": self.new, "updated": self.updated,
                                  "deleted": self.deleted}
        if self.folder is not None:
            out["folder"] = self.folder
        if self.errors:
            out["errors"] = list(self.errors)
        return out


@dataclass(frozen=True)
class NewMail(_Event):
    """New messages reached the cache in a watched folder (the hook's batch)."""

    folder: str = "INBOX"
    messages: tuple[Envelope, ...] = ()
    kind = "new_mail"

    def _extra(self) -> dict[str, object]:
        return {"folder": self.folder, "messages": [m.to_json() for m in self.messages]}


@dataclass(frozen=True)
class Disconnected(_Event):
    """The account lost its server (once per change of state, not per retry)."""

    error: str = ""
    kind = "disconnected"

    def _extra(self) -> dict[str, object]:
        return {"error": self.error}


@dataclass(frozen=True)
class Reconnected(_Event):
    kind = "reconnected"


@dataclass(frozen=True)
class HookFailed(_Event):
    """The new-mail hook exited non-zero (exit_code) or was killed after its time
    limit (exit_code None, timed_out True)."""

    command: str = ""
    exit_code: int | None = None
    folder: str | None = None
    timed_out: bool = False
    error: str | None = None
    kind = "hook_failed"

    def _extra(self) -> dict[str, object]:
        out: dict[str, object] = {"command": self.command, "exit_code": self.exit_code}
        if self.folder is not None:
            out["folder"] = self.folder
        if self.timed_out:
            out["timed_out"] = True
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Stopped(_Event):
    """The account's watcher ended: asked to (error None), or for a reason the user
    must fix (error and its exit code, e.g. 3 for a refused login)."""

    error: str | None = None
    exit_code: int = 0
    kind = "stopped"

    def _extra(self) -> dict[str, object]:
        if self.error is None:
            return {}
        return {"error": self.error, "exit_code": self.exit_code}


@dataclass(frozen=True)
class State(_Event):
    """The account's connection state for a status bar: "connecting", "syncing",
    "idle" (waiting for changes), "reconnecting", "stopped", "failed"."""

    state: str = ""
    kind = "state"


WatchEvent = Started | Synced | NewMail | Disconnected | Reconnected | HookFailed | Stopped | State
Emit = Callable[[WatchEvent], None]
"""Receives every event; called from the watcher's threads, must not raise."""
