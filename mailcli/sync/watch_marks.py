"""Which cached messages are news: the watcher's per-folder marks.

Per watched folder, the highest cached message id seen (ids only grow: SQLite
AUTOINCREMENT). After a sync, the folder's messages above the mark are the new batch and
the mark moves past them, so each message is announced once, also when another process
(a cron `mailcli fetch`, the TUI's `g`) downloaded it. A folder the cache did not know
when the watcher started, or that it never held a message of (POP3), is taken as it is
the first time: its first download is not news.
"""
from __future__ import annotations

from collections.abc import Iterable

from mailcli.model import Envelope
from mailcli.store import Store
from mailcli.sync.watch_waiters import matches

_PAGE = 200


class NewMailMarks:
    """The marks of one account's watched folders (`watch`: globs; POP3: INBOX)."""

    def __init__(self, store: Store, account: str, watch: tuple[str, ...], pop3: bool) -> None:
        self.store = store
        self.account = account
        self.watch = ("INBOX",) if pop3 else watch
        self.pop3 = pop3
        self.marks: dict[str, int] = {}
        known = {s.name for s in store.folder_states(account)}
        if pop3 and self._max_id("INBOX") is not None:
            known.add("INBOX")
        for folder in known:
            if matches(folder, self.watch):
                self.marks[folder] = self._max_id(folder) or 0

    def folders(self) -> list[str]:
        """Every folder the cache holds for the account (a whole-account sync's scope)."""
        if self.pop3:
            return ["INBOX"]
        return [s.name for s in self.store.folder_states(self.account)]

    def news(self, folders: Iterable[str]) -> list[tuple[str, list[Envelope]]]:
        """(folder, new messages oldest first) of each watched folder among `folders` that
        has any; the marks move past them."""
        out = []
        for folder in folders:
            if not matches(folder, self.watch):
                continue
            if folder not in self.marks:   # first time cached: its content is not news
                self.marks[folder] = self._max_id(folder) or 0
                continue
            new = self._since(folder, self.marks[folder])
            if new:
                self.marks[folder] = new[-1].id
                out.append((folder, new))
        return out

    def _max_id(self, folder: str) -> int | None:
        top = self.store.list_envelopes(self.account, folder, limit=1, order="id desc")
        return top[0].id if top else None

    def _since(self, folder: str, mark: int) -> list[Envelope]:
        """The folder's cached messages with an id above `mark`, oldest first."""
        out: list[Envelope] = []
        offset = 0
        while True:
            page = self.store.list_envelopes(self.account, folder, limit=_PAGE,
                                             offset=offset, order="id desc")
            fresh = [e for e in page if e.id > mark]
            out.extend(fresh)
            if len(fresh) < len(page) or len(page) < _PAGE:
                break
            offset += _PAGE
        return sorted(out, key=lambda e: e.id)
