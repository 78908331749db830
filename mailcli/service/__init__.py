"""THE API of mailcli for both shells (the click CLI and the Textual TUI).

Architecture (one-way flow):
    config -> accounts (protocol layer) -> sync / send -> store -> service -> cli / tui
The CLI and the TUI import only this package (plus mailcli.model, mailcli.errors and
mailcli.message.sanitize; an import-linter contract holds them to it): no SQL and no
protocol calls in them. Every method returns model objects or raises MailcliError
subclasses; progress is reported through a sync Reporter (the events below).

`Service` (facade.py) is a thin typed façade over parts that get their dependencies in
their constructors: core (config, data dir, store, passwords, connections), reading
(folders, list, show, search, attachments, index), changing (flag, move, delete),
syncing (fetch, quota, account test), sending (compose, reply, forward, outbox); drafts.py
is the editable text form of a draft.

The names below are loaded on first use (PEP 562): `mailcli --help` and the error line
must not pay for the service, and `mailcli list` not for sending.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailcli.paths import make_private_dir, repair_data_dir
    from mailcli.redact import redact
    from mailcli.send.compose import Draft
    from mailcli.send.outbox import OutboxItem, SendResult
    from mailcli.service.facade import Service
    from mailcli.service.reading import ShownMessage
    from mailcli.store import RebuildReport
    from mailcli.sync.events import (
        AccountDone,
        AccountStarted,
        FolderCounts,
        FolderDone,
        FolderStarted,
        MessageFetched,
        Reporter,
        SyncEvent,
        SyncWarning,
    )
    from mailcli.sync.runner import FetchResult, combine_exit_codes
    from mailcli.sync.watch_events import (
        Disconnected,
        HookFailed,
        NewMail,
        Reconnected,
        Started,
        State,
        Stopped,
        Synced,
        WatchEvent,
    )

_EVENTS = ("AccountDone", "AccountStarted", "FolderCounts", "FolderDone", "FolderStarted",
           "MessageFetched", "Reporter", "SyncEvent", "SyncWarning")
_WATCH_EVENTS = ("Disconnected", "HookFailed", "NewMail", "Reconnected", "Started", "State",
                 "Stopped", "Synced", "WatchEvent")

# name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "Service": "mailcli.service.facade",
    "ShownMessage": "mailcli.service.reading",
    "FetchResult": "mailcli.sync.runner",
    "combine_exit_codes": "mailcli.sync.runner",   # one exit code for several accounts
    "Draft": "mailcli.send.compose",
    "OutboxItem": "mailcli.send.outbox",
    "SendResult": "mailcli.send.outbox",
    "RebuildReport": "mailcli.store",
    # what the shells print or write: secrets out of any text, a private data dir
    "redact": "mailcli.redact",
    "make_private_dir": "mailcli.paths",
    "repair_data_dir": "mailcli.paths",
    **{name: "mailcli.sync.events" for name in _EVENTS},
    # `watch`: what the watcher reports (sync/watch_events.py)
    **{name: "mailcli.sync.watch_events" for name in _WATCH_EVENTS},
}

__all__ = ["AccountDone", "AccountStarted", "Disconnected", "Draft", "FetchResult",
           "FolderCounts", "FolderDone", "FolderStarted", "HookFailed", "MessageFetched",
           "NewMail", "OutboxItem", "RebuildReport", "Reconnected", "Reporter", "SendResult",
           "Service", "ShownMessage", "Started", "State", "Stopped", "SyncEvent",
           "SyncWarning", "Synced", "WatchEvent", "combine_exit_codes", "make_private_dir",
           "redact", "repair_data_dir"]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
