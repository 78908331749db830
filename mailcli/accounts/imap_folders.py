"""ImapFolders: an ImapAccount's folders (a mixin of accounts/imap.ImapAccount).

Owns: the listing (LIST, or LIST-STATUS with the folders' STATUS, RFC 5819), SPECIAL-USE
roles, folder names as the server spells them (modified UTF-7, its delimiter) and as
mailcli does, the personal namespace, creating/deleting/renaming folders, and STATUS,
one folder or several pipelined. Errors are translated by ImapAccount._errors.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, cast

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc
from imapclient.imap_utf7 import decode as decode_utf7
from imapclient.response_parser import parse_response

from mailcli.accounts.base import Account, Capability
from mailcli.accounts.imap_guard import Guard
from mailcli.accounts.imap_wire import _status_from_fields, _status_from_items
from mailcli.model import FolderInfo, FolderRole, FolderStatus

# the account's log lines keep the name they always had, whichever module writes them
logger = logging.getLogger("mailcli.accounts.imap")

_ROLES = {b"\\sent": FolderRole.SENT, b"\\drafts": FolderRole.DRAFTS, b"\\trash": FolderRole.TRASH,
          b"\\junk": FolderRole.JUNK, b"\\archive": FolderRole.ARCHIVE, b"\\all": FolderRole.ALL,
          b"\\flagged": FolderRole.FLAGGED}
_NOT_SELECTABLE = {b"\\noselect", b"\\nonexistent"}
_STATUS_WINDOW = 100          # STATUS commands per write (the answers are read between)
_LIST_RENEWALS = 50           # LIST-STATUS: fresh deadlines, one per _STATUS_WINDOW replies


class ImapFolders:
    """Mixin: needs ImapAccount's state, its error translation (_errors) and its
    pipelining helpers (_send, _send_many, _finish)."""

    capabilities: frozenset[Capability]
    _guard: Guard | None
    _server_caps: tuple[str, ...]
    _selected: str | None
    _prelude: list[bytes]
    _client: IMAPClient | None

    if TYPE_CHECKING:   # provided by ImapAccount
        @property
        def _c(self) -> IMAPClient: ...
        @property
        def _live(self) -> IMAPClient: ...
        def _errors(self, what: str, folder: str | None = None) -> AbstractContextManager[None]: ...
        def _send(self, line: bytes) -> bytes: ...
        def _send_many(self, lines: list[bytes]) -> list[bytes]: ...
        def _settle(self, lines: list[bytes], listing: bool = False) -> list[bytes]: ...
        def _take_ahead(self, inbox_only: bool = False) -> tuple[str, list[bytes]] | None: ...
        def _sent_ahead(self, folder: str, tags: list[bytes]) -> None: ...
        def _delimiter_from(self, rows: list[tuple[Any, Any, Any]]) -> None: ...
        def _finish(self, tag: bytes, what: str) -> bytes: ...
        def _quoted(self, folder: str) -> bytes: ...
        def _wire(self, name: str) -> str: ...
        def _user(self, name: str) -> str: ...

    def list_folders(self) -> list[FolderInfo]:
        with self._errors("LIST"):
            tag = self._first_or_send(b'LIST "" "*"', ("LIST",))
            imap = self._live._imap
            self._finish(tag, "LIST")
            rows = self._live._proc_folder_list(imap.untagged_responses.pop("LIST", []))
            self._delimiter_from(rows)
        return self._folder_infos(rows)

    def _first_or_send(self, line: bytes, replies: tuple[str, ...]) -> bytes:
        """Send a listing command (its earlier `replies` dropped); the connection's first
        command goes out with its pending ENABLE and LIST "" "" (ImapSession._settle),
        and INBOX's SELECT and scan behind it when the engine said they come next
        (ImapAhead.open_ahead)."""
        client = self._client
        if client is not None:
            for key in replies:
                client._imap.untagged_responses.pop(key, None)
        ahead = self._take_ahead(inbox_only=True)
        lines = [line, *(ahead[1] if ahead else ())]
        tags = self._settle(lines, listing=True) if self._prelude else self._send_many(lines)
        if ahead is not None:
            self._sent_ahead(ahead[0], tags[1:])
        return tags[0]

    def list_folders_with_status(self) -> tuple[list[FolderInfo], dict[str, FolderStatus]]:
        """LIST "" "*" RETURN (STATUS (...)) where the server has LIST-STATUS: the resync
        of unchanged folders saves the round trip of its pipelined STATUS. The selected
        folder's status is left out (see folder_status), and so is any STATUS reply whose
        name is not a listed folder or that cannot be read. A server that refuses the
        RETURN option gets the plain LIST."""
        if not {"LIST-STATUS", "SPECIAL-USE"} <= set(self._server_caps):
            # without SPECIAL-USE an extended LIST may leave out the roles a plain one
            # gives (Dovecot does): the roles matter more than a round trip
            return self.list_folders(), {}
        what = b"MESSAGES UIDNEXT UIDVALIDITY UNSEEN"
        if Capability.CONDSTORE in self.capabilities:
            what += b" HIGHESTMODSEQ"
        with self._errors("LIST"):
            # an extended LIST gives the special-use attributes only when asked (RFC 6154)
            tag = self._first_or_send(b'LIST "" "*" RETURN (SPECIAL-USE STATUS (' + what + b"))",
                                      ("LIST", "STATUS"))
            imap = self._live._imap
            try:
                self._finish_long_list(tag)
            except imap_exc.IMAPClientAbortError:
                raise
            except imap_exc.IMAPClientError as exc:
                logger.debug("LIST-STATUS refused (%s); plain LIST", exc)
                for key in ("LIST", "STATUS"):   # lines sent before the NO: not a listing
                    imap.untagged_responses.pop(key, None)
                return self.list_folders(), {}
            rows = self._live._proc_folder_list(imap.untagged_responses.pop("LIST", []))
            replies = imap.untagged_responses.pop("STATUS", [])
            self._delimiter_from(rows)
        folders = self._folder_infos(rows)
        listed = {f.name for f in folders if f.selectable} - {self._selected}
        statuses: dict[str, FolderStatus] = {}
        for reply in replies:
            try:
                parsed = parse_response([reply])
                name = self._user(self._decoded_name(parsed[0]))
                if name.upper() == "INBOX":
                    name = "INBOX"
                if name in listed:
                    statuses[name] = _status_from_items(name, parsed[-1])
            except (KeyError, ValueError, TypeError, IndexError, imap_exc.IMAPClientError):
                continue
        return folders, statuses

    def _finish_long_list(self, tag: bytes) -> None:
        """_finish for LIST-STATUS: the server opens every folder to answer it, so the
        command deadline is renewed every _STATUS_WINDOW STATUS replies (as each window of
        pipelined STATUS commands had its own), at most _LIST_RENEWALS times."""
        imap, guard = self._live._imap, self._guard
        seen = renewals = 0
        while imap.tagged_commands.get(tag) is None:
            imap._get_response()
            n = len(imap.untagged_responses.get("STATUS", ()))
            if guard is not None and n >= seen + _STATUS_WINDOW and renewals < _LIST_RENEWALS:
                guard.renew("LIST-STATUS")
                seen, renewals = n, renewals + 1
        self._finish(tag, "LIST")

    def _decoded_name(self, raw: Any) -> str:
        """A folder name as a reply carries it (atom, quoted string or literal; modified
        UTF-7 unless folder_encode is off), as imapclient's LIST gives it."""
        if isinstance(raw, int):
            return str(raw)
        if isinstance(raw, bytes):
            return decode_utf7(raw) if self._live.folder_encode else raw.decode("utf-8", "replace")
        return str(raw)

    def _folder_infos(self, rows: list[tuple[Any, Any, Any]]) -> list[FolderInfo]:
        out = []
        for flags, _delim, name in rows:
            lower = {f.lower() for f in flags}
            role = next((r for f, r in _ROLES.items() if f in lower), None)
            uname = self._user(str(name))
            if uname.upper() == "INBOX":
                uname, role = "INBOX", FolderRole.INBOX
            out.append(FolderInfo(name=uname, delimiter="/", role=role,
                                  selectable=not (lower & _NOT_SELECTABLE)))
        return out

    def personal_prefix(self) -> str:
        """The personal namespace (RFC 2342) prefix in user form: "INBOX." -> "INBOX/"."""
        if "NAMESPACE" not in self._server_caps:
            return ""
        with self._errors("NAMESPACE"):
            personal = self._c.namespace().personal or ()
        if not personal:
            return ""
        prefix = personal[0][0]
        prefix = prefix.decode() if isinstance(prefix, bytes) else str(prefix)
        return self._user(prefix)

    def create_folder(self, name: str) -> None:
        with self._errors("CREATE"):
            self._c.create_folder(self._wire(name))

    def delete_folder(self, name: str) -> None:
        with self._errors("DELETE", folder=name):
            if self._selected == name:
                self._c.close_folder()
                self._selected = None
            self._c.delete_folder(self._wire(name))

    def rename_folder(self, old: str, new: str) -> None:
        with self._errors("RENAME", folder=old):
            if self._selected in (old, new):
                self._c.close_folder()
                self._selected = None
            self._c.rename_folder(self._wire(old), self._wire(new))

    def folder_status(self, folder: str) -> FolderStatus:
        what = ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"]
        if Capability.CONDSTORE in self.capabilities:
            what.append("HIGHESTMODSEQ")
        with self._errors("STATUS", folder=folder):
            if folder == self._selected:
                # Dovecot answers STATUS of the selected folder from this session's view,
                # which moves only with a command that syncs it: a connection kept open
                # (mailcli watch) would never see new mail there
                self._c.noop()
            st = self._c.folder_status(self._wire(folder), what)
        return _status_from_fields(folder, st)

    def folder_statuses(self, folders: Sequence[str]) -> dict[str, FolderStatus]:
        """STATUS of several folders pipelined: one round trip instead of one per folder
        (a resync of unchanged folders through a 20 ms link spent most of its time
        there). The selected folder and any whose STATUS fails or cannot be matched are
        left out (folder_status asks again). Each STATUS line is matched to its command
        by order (a command's untagged reply arrives before its tagged one)."""
        todo = [f for f in folders if f != self._selected]
        if len(todo) < 2:
            return Account.folder_statuses(cast(Account, self), todo)   # one by one
        what = b"(MESSAGES UIDNEXT UIDVALIDITY UNSEEN"
        what += b" HIGHESTMODSEQ)" if Capability.CONDSTORE in self.capabilities else b")"
        out: dict[str, FolderStatus] = {}
        with self._errors("STATUS"):
            imap = self._c._imap
            imap.untagged_responses.pop("STATUS", None)
            for start in range(0, len(todo), _STATUS_WINDOW):
                window = todo[start:start + _STATUS_WINDOW]
                tags = self._send_many([b"STATUS " + self._quoted(f) + b" " + what for f in window])
                for folder, tag in zip(window, tags):
                    try:
                        self._finish(tag, "STATUS")
                    except imap_exc.IMAPClientAbortError:
                        raise
                    except imap_exc.IMAPClientError:
                        imap.untagged_responses.pop("STATUS", None)
                        continue
                    lines = imap.untagged_responses.pop("STATUS", [])
                    if len(lines) != 1:
                        continue
                    try:
                        out[folder] = _status_from_items(folder, parse_response(lines)[-1])
                    except (KeyError, ValueError, TypeError, IndexError, imap_exc.IMAPClientError):
                        continue      # a reply we cannot read: folder_status reports it
        return out

