"""THE API of mailcli for both shells (the click CLI and the Textual TUI).

Architecture (one-way flow):
    config -> accounts (protocol layer) -> sync / send -> store -> service -> cli / tui
The CLI and the TUI call only this package (plus mailcli.model / mailcli.errors types):
no SQL and no protocol calls in them. Every method returns model objects or raises
MailcliError subclasses; progress is reported through a sync Reporter (events).

`Service` is assembled from one mixin per concern, each in its own module:
core (config, data dir, store, passwords, connections), reading (folders, list, show,
search, attachments, index), changing (flag, move, delete), syncing (fetch, quota,
account test), sending (compose, reply, forward, outbox).
"""
from mailcli.service.changing import ChangingMixin
from mailcli.service.core import ServiceCore
from mailcli.service.reading import ReadingMixin
from mailcli.service.sending import SendingMixin
from mailcli.service.syncing import SyncingMixin


class Service(ReadingMixin, ChangingMixin, SyncingMixin, SendingMixin, ServiceCore):
    """One configured mailcli. `Service.open(config_path)`; see the mixins for the API."""


__all__ = ["Service"]
