"""ImapAhead: a folder's first SELECT and flag scan sent ahead, behind commands still in
flight (a mixin of accounts/imap.ImapAccount).

A first sync reads each folder with SELECT + ``UID FETCH 1:* (FLAGS ...)`` (pipelined,
`_select_and_scan`) after the previous folder's last body FETCH was answered: one round
trip per folder on the way, and the first folder's after the listing. The engine names
the folder it will read next (`open_ahead`); the pair then goes out behind the listing or
behind the running download's last batch, and the next `changes_since(folder, None,
None)` reads its answers (`_select_and_scan`): the server processes commands in order,
so they are the same answers, one round trip sooner.

Only those answers are ever used, and only by that call with nothing sent in between:
any other command first reads them and throws them away (`_drain_ahead`, from `_c`),
keeping only which folder is selected. A scan read before something else happened could
be older than that something (our own APPEND to the folder, say), and a full scan older
than the cache would read as messages deleted on the server. The hint is only a hint: a
wrong one costs one SELECT and one scan, never a changed result.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc

from mailcli.accounts.base import Capability
from mailcli.accounts.imap_guard import Guard
from mailcli.accounts.imap_wire import _remote_flags, _status_from_select
from mailcli.model import FolderChanges

logger = logging.getLogger("mailcli.accounts.imap")

_INBOX = b'"INBOX"'


class ImapAhead:
    """Mixin: needs ImapAccount's connection state and its command helpers."""

    capabilities: frozenset[Capability]
    _client: IMAPClient | None
    _guard: Guard | None
    _selected: str | None
    _ahead: tuple[str, bytes, bytes] | None     # folder, SELECT tag, scan tag (sent)
    _ahead_wanted: str | None                   # the folder to send ahead (open_ahead)

    if TYPE_CHECKING:   # provided by ImapAccount / ImapSession
        @property
        def _c(self) -> IMAPClient: ...
        def _send_many(self, lines: list[bytes]) -> list[bytes]: ...
        def _finish(self, tag: bytes, what: str) -> bytes: ...
        def _finish_before(self, tag: bytes, what: str, behind: bytes, behind_what: str) -> bytes: ...
        def _quoted(self, folder: str) -> bytes: ...
        def _untagged(self, name: str) -> list[Any]: ...

    def open_ahead(self, folder: str) -> None:
        """See Account.open_ahead: the next listing or download sends `folder`'s SELECT
        and scan behind its own commands."""
        self._ahead_wanted = folder

    def _scan_items(self) -> bytes:
        """A flag scan's FETCH items (MODSEQ with CONDSTORE)."""
        condstore = Capability.CONDSTORE in self.capabilities
        return b"(UID FLAGS RFC822.SIZE MODSEQ)" if condstore else b"(UID FLAGS RFC822.SIZE)"

    def _take_ahead(self, inbox_only: bool = False) -> tuple[str, list[bytes]] | None:
        """The wanted folder and its SELECT and scan lines, to go out now (the hint is
        taken); None without a hint. `inbox_only`: behind the connection's first listing,
        where no other folder's server name is known yet (the delimiter comes with it);
        another folder's hint stays for a later download."""
        folder = self._ahead_wanted
        if folder is None or (inbox_only and folder != "INBOX"):
            return None
        self._ahead_wanted = None
        quoted = _INBOX if folder == "INBOX" else self._quoted(folder)
        return folder, [b"SELECT " + quoted, b"UID FETCH 1:* " + self._scan_items()]

    def _sent_ahead(self, folder: str, tags: list[bytes]) -> None:
        """Record the pair `_take_ahead` gave as sent, with its two tags."""
        self._ahead = (folder, tags[0], tags[1])
        self._selected = None   # the server selects it when it gets there
        logger.debug("SELECT and scan of %s sent ahead", folder)

    def _send_ahead(self) -> None:
        """Send the wanted folder's pair now, behind whatever is in flight."""
        taken = self._take_ahead()
        if taken is not None:
            self._sent_ahead(taken[0], self._send_many(taken[1]))

    # ---------- reading the answers ----------
    def _select_and_scan(self, folder: str) -> FolderChanges:
        """SELECT and the full flag scan pipelined (a folder's first sync), or their
        answers when they were sent ahead for `folder`. A failed SELECT leaves no folder
        selected (RFC 3501 6.3.1), so the scan sent behind it fails too and cannot read
        another folder; its error is the SELECT's."""
        adopted = self._ahead if self._ahead is not None and self._ahead[0] == folder else None
        if adopted is not None:
            self._ahead = None                  # so that `_c` does not drain it
            if self._guard is not None:
                self._guard.restart("SELECT")   # the time since it was sent was ours
        imap = self._c._imap                    # (drains another folder's pair)
        imap.untagged_responses = {}            # everything before the pair was read
        if adopted is not None:
            _folder, select, scan = adopted
        else:
            self._selected = None
            select, scan = self._send_many([b"SELECT " + self._quoted(folder),
                                            b"UID FETCH 1:* " + self._scan_items()])
        self._finish_before(select, "SELECT", scan, "UID FETCH")
        self._selected_now(folder)
        ur = imap.untagged_responses
        sel = self._c._process_select_response({k: v for k, v in ur.items() if k != "FETCH"})
        for key in [k for k in ur if k != "FETCH"]:
            del ur[key]
        status = _status_from_select(folder, sel)
        self._finish(scan, "UID FETCH")
        changed = sorted(_remote_flags(self._untagged("FETCH")), key=lambda r: r.uid)
        return FolderChanges(status, tuple(changed), (), full=True)

    def _selected_now(self, folder: str) -> None:
        """After a SELECT we sent ourselves answered OK: imaplib's state follows."""
        imap = self._c._imap
        imap.state = "SELECTED"
        imap.is_readonly = "READ-ONLY" in imap.untagged_responses   # see _select_any
        self._selected = folder

    def _drain_ahead(self) -> None:
        """Another command comes first: read the pair's answers and drop them (see the
        module docstring); the folder is selected if its SELECT succeeded."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or self._client is None:
            return
        folder, select, scan = ahead
        if self._guard is not None:
            self._guard.restart("SELECT")
        logger.debug("SELECT and scan of %s sent ahead were not used", folder)
        try:
            self._finish_before(select, "SELECT", scan, "UID FETCH")
        except imap_exc.IMAPClientAbortError:
            raise
        except imap_exc.IMAPClientError:
            self._selected = None              # no folder is selected now
        else:
            self._selected_now(folder)
            try:
                self._finish(scan, "UID FETCH")
            except imap_exc.IMAPClientAbortError:
                raise
            except imap_exc.IMAPClientError:
                pass
        self._client._imap.untagged_responses = {}
