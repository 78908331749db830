"""Is this folder unchanged on the server? (a mixin of sync/engine.ImapSync; step 2b of
the engine's module docstring).

A folder with a full bookmark (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) is proved unchanged
by one STATUS. A run asks them all at once, as cheaply as the server allows: with the
folder listing itself where the server has LIST-STATUS (RFC 5819), else pipelined after
it (one round trip, not one per folder). Only when nothing is queued for the account:
then a folder's sync writes to that folder alone, so no answer can be made stale by
this run's own work before its folder's turn (a queued move or append would change
another folder; an entry queued after this point, by the TUI or another command, voids
every answer not used yet when its folder replays it). Each answer is used once, by its
folder's sync; a folder without one asks its own STATUS. A first sync asks for the
statuses with the listing too (where that costs nothing): a folder they show empty needs
no SELECT (`_empty_new`).

A first sync also names to the account the folder it will SELECT next (`_read_next`,
Account.open_ahead): INBOX before the listing, and before each download the next folder
that will be read for the first time (past those `_empty_new` settles without a
command), so their SELECT and scan go out behind the listing or the download's last
batch instead of one round trip later. A wrong guess costs that SELECT, nothing else.
"""
from __future__ import annotations

import logging

from mailcli.accounts.base import Account, Capability
from mailcli.errors import MailcliError, TemporaryError
from mailcli.model import FolderInfo, FolderStatus
from mailcli.store import Action as JournalAction
from mailcli.store import FolderState, Store

logger = logging.getLogger(__name__)


class UnchangedFolders:
    """Mixin: needs the engine's store, account and name attributes and its _queued
    method (sync/replay.LocalChanges)."""

    store: Store
    account: Account
    name: str
    _statuses: dict[str, FolderStatus]   # asked at once by run(); each used once

    def _queued(self, folder: str | None = None) -> list[JournalAction]:
        raise NotImplementedError

    def _list_folders(self, known: dict[str, FolderState]) -> list[FolderInfo]:
        """The server's folders; with their STATUS kept as early answers when the server
        gives both in one command and the run will use them (_prefetch_statuses): a
        resync, or a first sync (an empty folder needs no SELECT then, `_empty_new`)."""
        bookmarked = sum(1 for s in known.values() if _has_modseq(s, self.account))
        if self._queued() or (known and bookmarked < 2):
            self._statuses = {}
            return self.account.list_folders()
        folders, self._statuses = self.account.list_folders_with_status()
        return folders

    def _prefetch_statuses(self, wanted: list[FolderInfo], known: dict[str, FolderState]) -> None:
        """The early answers for every wanted folder that one STATUS can prove unchanged:
        those the listing gave, the rest pipelined (see the module docstring). Called after
        the listing's own work (folders removed or new), which may have queued entries."""
        listed, self._statuses = self._statuses, {}
        if self._queued():
            return
        names = [f.name for f in wanted if f.name in known and _has_modseq(known[f.name], self.account)]
        early = {n: listed[n] for n in names if n in listed}
        early.update((f.name, listed[f.name]) for f in wanted if f.name in listed
                     and f.name in known and known[f.name].uidvalidity is None
                     and listed[f.name].messages == 0)     # (_empty_new)
        rest = [n for n in names if n not in early]
        if len(rest) >= 2:
            try:
                early.update(self.account.folder_statuses(rest))
            except TemporaryError:
                raise
            except MailcliError as exc:
                logger.debug("%s: STATUS of %d folders at once failed (%s); one by one", self.name,
                             len(rest), exc.message)
        self._statuses = early

    def _read_next(self, wanted: list[FolderInfo], known: dict[str, FolderState]) -> dict[str, str]:
        """For each folder to sync, the folder read for the first time after it, when
        nothing in between talks to the server (see the module docstring)."""
        after: dict[str, str] = {}
        nxt: str | None = None
        for name in reversed([f.name for f in wanted if f.name in known]):
            if nxt is not None:
                after[name] = nxt
            early = self._statuses.get(name)
            if known[name].uidvalidity is not None:
                nxt = None       # its sync may talk to the server first
            elif early is None or early.messages:
                nxt = name
        return after

    def _server_status(self, folder: str, state: FolderState, queued: bool) -> FolderStatus | None:
        """The folder's STATUS for its sync (the early answer, used once, else asked now),
        or None when one STATUS proves nothing here (no bookmark, nothing queued)."""
        if queued:
            # entries queued since run() began (the TUI, another command): replaying them
            # may change other folders (a move's destination), so no early answer stands
            self._statuses.clear()
        if not (queued or _has_modseq(state, self.account)):
            return None
        return self._statuses.pop(folder, None) or self.account.folder_status(folder)

    def _empty_new(self, folder: str, state: FolderState) -> FolderStatus | None:
        """The listing's STATUS of a folder never synced that holds no message on the server
        and none here: its first sync is that STATUS recorded as its bookmark, without a
        SELECT (a round trip per empty folder: Drafts, Junk, Templates...). A message that
        arrives after the STATUS has a UID from its UIDNEXT on and a MODSEQ above its
        HIGHESTMODSEQ, so the next sync fetches it."""
        status = self._statuses.get(folder)
        if state.uidvalidity is not None or status is None or status.messages != 0 \
                or self.store.count(self.name, folder):
            return None
        del self._statuses[folder]
        return status


def _has_modseq(state: FolderState, account: Account) -> bool:
    """Whether one STATUS can prove the folder unchanged (CONDSTORE and a full bookmark)."""
    return bool(state.uidvalidity and state.highestmodseq
                and Capability.CONDSTORE in account.capabilities)


def folder_unchanged(state: FolderState, status: FolderStatus) -> bool:
    """Same UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ as recorded: nothing changed there."""
    return (state.highestmodseq is not None and status.highestmodseq == state.highestmodseq
            and status.uidvalidity == state.uidvalidity and status.uidnext == state.uidnext)
