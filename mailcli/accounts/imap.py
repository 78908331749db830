"""ImapAccount: the Account interface over imapclient.

Owns: folder names (modified UTF-7 via imapclient, server delimiter <-> "/"), flags and
UID listing, QRESYNC/CONDSTORE resync, the pipelined UID-range message fetch streamed to
a sink, changes (flags, copy, move, delete, append), quota — and translating every
imapclient/imaplib/socket/ssl failure into mailcli.errors at this boundary (`_errors`,
which the mixins use too). Three mixins own the rest: the connection itself (connect,
login, ENABLE, close, drop, abort) is ImapSession's (accounts/imap_session.py); the
folders (listing, roles, STATUS, create/delete/rename) are ImapFolders'
(accounts/imap_folders.py); the waits for pushed changes (IDLE, NOTIFY) are ImapPush's
(accounts/imap_push.py).

Low-level notes: imapclient has no QRESYNC SELECT and no pipelining, so those two paths
send tagged lines on imapclient's own imaplib object (`_imap`) and read its responses
with `_get_response`, the same calls imapclient itself uses. Commands sent here go to
this module's logger.
"""
from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

# isort: off
from mailcli.accounts import _imapclient_version  # noqa: F401 - first: imapclient's start-up cost
# isort: on
from imapclient import IMAPClient
from imapclient import exceptions as imap_exc
from imapclient.response_parser import parse_fetch_response

from mailcli.accounts import names
from mailcli.accounts.base import Account, Capability, MessageSink
from mailcli.accounts.deadline import DeadlineExceeded
from mailcli.accounts.imap_ahead import ImapAhead
from mailcli.accounts.imap_folders import ImapFolders
from mailcli.accounts.imap_guard import Guard, GuardError, LiteralTooLarge, TooManyResponses
from mailcli.accounts.imap_push import ImapPush
from mailcli.accounts.imap_session import ImapSession
from mailcli.accounts.imap_wire import (
    _copyuid_map,
    _flags,
    _one_line,
    _remote_flags,
    _server_text,
    _status_from_select,
    fast_fetch_bodies,
    parse_uid_set,
    uid_set,
)
from mailcli.accounts.tls import connection_error, is_network_error
from mailcli.config.credentials import Credentials, as_credentials
from mailcli.config.schema import AccountConfig
from mailcli.errors import AuthError, MailcliError, NotFoundError, ProtocolError, TemporaryError
from mailcli.model import Flags, FolderChanges, FolderStatus, Quota, RemoteFlags

logger = logging.getLogger(__name__)

_MISSING = re.compile(r"NONEXISTENT|doesn't exist|does not exist|not found|no such mailbox|unknown mailbox",
                      re.I)
_PIPELINE_WINDOW = 3          # UID FETCH commands in flight during fetch_messages
_MAX_REFUSED = 5              # over-large messages skipped (one reconnect each) per fetch


class ImapAccount(ImapSession, ImapAhead, ImapPush, ImapFolders, Account):
    """An IMAP account (see Account for every method's contract)."""

    protocol = "imap"

    def __init__(self, config: AccountConfig, credentials: Credentials | str) -> None:
        self.config = config
        self._creds = as_credentials(credentials, config.username)
        self._client: IMAPClient | None = None
        self._closing: IMAPClient | None = None
        self._guard: Guard | None = None
        self._dropped = False         # dropped on purpose (a broken bound): reconnect on use
        self._server_caps: tuple[str, ...] = ()
        self._selected: str | None = None
        self._delimiter = "/"         # the server's, once its LIST "" "" is read
        self._prelude: list[bytes] = []
        self._delimiter_pending = False
        self._ahead: tuple[str, bytes, bytes] | None = None
        self._ahead_wanted: str | None = None
        self.capabilities = frozenset()

    # ---------- lifecycle: connect, close, abort (accounts/imap_session.py) ----------
    @property
    def server_capabilities(self) -> tuple[str, ...]:
        return self._server_caps

    @property
    def atomic_move(self) -> bool:
        return "MOVE" in self._server_caps

    # ---------- helpers ----------
    @contextmanager
    def _errors(self, what: str, folder: str | None = None) -> Iterator[None]:
        """Translate everything below into mailcli.errors (practice 4)."""
        cfg = self.config
        try:
            yield
        except (GuardError, DeadlineExceeded):
            self._drop()
            raise
        except MailcliError:
            raise
        except imap_exc.LoginError as exc:
            raise AuthError(f"{cfg.host} refused the login for {cfg.username!r}: {_server_text(exc)}") from exc
        except imap_exc.IMAPClientAbortError as exc:
            self._selected = None
            cause = exc.__cause__ or exc.__context__
            if cause is not None and is_network_error(cause):
                raise connection_error(cause, cfg.host, cfg.port) from exc
            raise TemporaryError(f"connection to {cfg.host} lost during {what}: {_one_line(exc)}",
                                 hint="retry later") from exc
        except imap_exc.IMAPClientError as exc:
            text = _server_text(exc)
            if folder is not None and _MISSING.search(text):
                raise NotFoundError(f"folder {folder!r} does not exist on {cfg.host}") from exc
            raise ProtocolError(f"{what} failed on {cfg.host}: {text}") from exc
        except (OSError, EOFError) as exc:
            self._selected = None
            raise connection_error(exc, cfg.host, cfg.port) from exc

    def _wire(self, name: str) -> str:
        """User-facing name ("/" separated) -> server name (imapclient encodes UTF-7)."""
        if self._delim != "/" and name.upper() != "INBOX":
            return names.to_server(name, self._delim)
        return name

    def _user(self, name: str) -> str:
        return names.to_user(name, self._delim)

    def _select(self, folder: str) -> None:
        if self._selected == folder:
            return
        self._selected = None
        self._select_any(folder)
        self._selected = folder

    def _select_any(self, folder: str) -> dict[bytes, Any]:
        """SELECT. A folder the server opens read-only (OK [READ-ONLY], e.g. one shared with
        lookup+read rights) is selected all the same: imaplib raises `readonly` (an `abort`,
        which read as a lost connection and stopped the account) after the folder is
        selected. Reading works; a change there is refused by the server for that folder."""
        try:
            return cast(dict[bytes, Any], self._c.select_folder(self._wire(folder)))
        except imap_exc.IMAPClientReadOnlyError:
            logger.debug("%s is read-only on the server", folder)
            self._c._imap.is_readonly = True    # later commands: the server's NO, not an abort
            return cast(dict[bytes, Any],
                        self._c._process_select_response(self._c._imap.untagged_responses))

    def read_only(self, folder: str) -> bool:
        """See Account.read_only: one SELECT unless `folder` is the selected one."""
        with self._errors("SELECT", folder=folder):
            self._select(folder)
            return bool(self._c._imap.is_readonly)

    def _quoted(self, folder: str) -> bytes:
        quoted = self._c._normalise_folder(self._wire(folder))
        return quoted if isinstance(quoted, bytes) else quoted.encode("ascii")

    def _send(self, line: bytes) -> bytes:
        """Send one tagged command line without literals; returns the tag."""
        imap = self._c._imap
        tag: bytes = imap._new_tag()
        logger.debug("> %s", (tag + b" " + line).decode("ascii", "replace"))
        imap.send(tag + b" " + line + b"\r\n")
        return tag

    def _send_many(self, lines: list[bytes]) -> list[bytes]:
        """Send several tagged command lines in one write (one segment, not one each);
        returns their tags."""
        imap = self._c._imap
        tags: list[bytes] = [imap._new_tag() for _ in lines]
        wire = [tag + b" " + line for tag, line in zip(tags, lines)]
        for line in wire:
            logger.debug("> %s", line.decode("ascii", "replace"))
        imap.send(b"\r\n".join(wire) + b"\r\n")
        return tags

    def _done(self, tag: bytes) -> bool:
        return self._live._imap.tagged_commands.get(tag) is not None

    def _finish(self, tag: bytes, what: str) -> bytes:
        """Read responses until `tag` completes; its text, or IMAPClientError on NO/BAD."""
        imap = self._live._imap
        while imap.tagged_commands.get(tag) is None:
            imap._get_response()
        imap._check_bye()
        typ, data = imap.tagged_commands.pop(tag)
        text: bytes = data[0] or b""
        if typ != "OK":
            raise imap_exc.IMAPClientError(f"{what} failed: {typ} {text.decode('utf-8', 'replace')}")
        return text

    def _finish_before(self, tag: bytes, what: str, behind: bytes, behind_what: str) -> bytes:
        """_finish(tag) for a command with another pipelined `behind` it: if it fails,
        the one behind is read too (the stream stays in step), then the error raised."""
        try:
            return self._finish(tag, what)
        except imap_exc.IMAPClientAbortError:
            raise               # the connection is gone: nothing behind to read
        except imap_exc.IMAPClientError:
            with contextlib.suppress(imap_exc.IMAPClientError):
                self._finish(behind, behind_what)
            raise

    def _untagged(self, name: str) -> list[Any]:
        return list(self._c._imap.untagged_responses.pop(name, []))

    # ---------- reading ----------
    def list_uids(self, folder: str) -> list[int]:
        with self._errors("UID SEARCH", folder=folder):
            self._select(folder)
            return sorted(int(u) for u in self._c.search("ALL"))

    def find_message_id(self, folder: str, message_id: str) -> dict[int, int]:
        with self._errors("UID SEARCH", folder=folder):
            self._select(folder)
            uids = self._c.search(["HEADER", "Message-ID", message_id])
            if not uids:
                return {}
            got = self._c.fetch(uids, ["RFC822.SIZE"])
        return {int(u): int(d[b"RFC822.SIZE"]) for u, d in got.items() if b"RFC822.SIZE" in d}

    def fetch_flags(self, folder: str, uids: Sequence[int] | None = None,
                    changedsince: int | None = None) -> list[RemoteFlags]:
        if uids is not None and not uids:
            return []
        with self._errors("UID FETCH", folder=folder):
            self._select(folder)
            return self._fetch_flags(uid_set(uids) if uids is not None else "1:*", changedsince)

    def _fetch_flags(self, uidset: str, changedsince: int | None) -> list[RemoteFlags]:
        line = b"UID FETCH " + uidset.encode() + b" " + self._scan_items()
        if changedsince is not None and Capability.CONDSTORE in self.capabilities:
            line += b" (CHANGEDSINCE %d)" % changedsince
        self._untagged("FETCH")
        tag = self._send(line)
        self._finish(tag, "UID FETCH")
        return sorted(_remote_flags(self._untagged("FETCH")), key=lambda r: r.uid)

    def changes_since(self, folder: str, uidvalidity: int | None,
                      modseq: int | None) -> FolderChanges:
        """See Account.changes_since. QRESYNC: one SELECT (QRESYNC ...). CONDSTORE only:
        one SELECT when HIGHESTMODSEQ did not move (nothing changed, expunges included, as
        they raise HIGHESTMODSEQ too); otherwise a full flag scan, because CONDSTORE alone
        cannot name expunged messages."""
        caps = self.capabilities
        with self._errors("SELECT", folder=folder):
            if Capability.QRESYNC in caps and uidvalidity and modseq:
                status, changed, vanished = self._qresync_select(folder, uidvalidity, modseq)
                if status.uidvalidity == uidvalidity:
                    return FolderChanges(status, tuple(changed), tuple(vanished))
                return self._full_scan(folder, status)
            if uidvalidity is None:      # nothing cached: SELECT and the scan, one round trip
                return self._select_and_scan(folder)
            self._selected = None
            sel = self._select_any(folder)
            self._selected = folder
            status = _status_from_select(folder, sel)
            if (Capability.CONDSTORE in caps and uidvalidity == status.uidvalidity and modseq
                    and status.highestmodseq is not None and status.highestmodseq <= modseq):
                return FolderChanges(status, ())
            return self._full_scan(folder, status)

    def _full_scan(self, folder: str, status: FolderStatus) -> FolderChanges:
        self._select(folder)
        return FolderChanges(status, tuple(self._fetch_flags("1:*", None)), (), full=True)

    def _qresync_select(self, folder: str, uidvalidity: int,
                        modseq: int) -> tuple[FolderStatus, list[RemoteFlags], list[int]]:
        imap = self._c._imap
        imap.untagged_responses = {}
        self._selected = None
        tag = self._send(b"SELECT " + self._quoted(folder) + b" (QRESYNC (%d %d))" % (uidvalidity, modseq))
        self._finish(tag, "SELECT")
        self._selected_now(folder)
        ur = imap.untagged_responses
        sel = self._c._process_select_response({k: v for k, v in ur.items() if k not in ("FETCH", "VANISHED")})
        status = _status_from_select(folder, sel)
        changed = _remote_flags(ur.pop("FETCH", []))
        vanished: list[int] = []
        for item in ur.pop("VANISHED", []):
            text = item.decode() if isinstance(item, bytes) else str(item)
            vanished.extend(parse_uid_set(text.replace("(EARLIER)", "").strip(), status.uidnext))
        return status, changed, sorted(vanished)

    def fetch_message_ids(self, folder: str) -> dict[int, tuple[str | None, int]]:
        with self._errors("UID FETCH", folder=folder):
            self._select(folder)
            self._untagged("FETCH")
            tag = self._send(b"UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            self._finish(tag, "UID FETCH")
            items = self._untagged("FETCH")
        out: dict[int, tuple[str | None, int]] = {}
        if not items:
            return out
        for data in parse_fetch_response(items, False, False).values():
            uid = data.get(b"UID")
            if uid is None:
                continue
            head = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"") or b""
            value = b" ".join(head.partition(b":")[2].split()).decode("utf-8", "replace") or None
            out[int(uid)] = (value, int(data.get(b"RFC822.SIZE", 0)))
        return out

    def fetch_messages(self, folder: str, uids: Sequence[int], sink: MessageSink,
                       batch_size: int = 200) -> None:
        """See Account.fetch_messages. A message whose literal is over the guard's cap is
        refused unread; the connection is dropped, the other messages are fetched on a new
        one, and a ProtocolError naming the refused UIDs ends the call."""
        wanted = list(dict.fromkeys(uids))     # batches in the caller's order (newest first)
        got: set[int] = set()
        refused: list[LiteralTooLarge] = []

        def deliver(uid: int, raw: bytes, flags: Flags) -> None:
            got.add(uid)
            sink(uid, raw, flags)

        try:
            while wanted:
                try:
                    self._fetch_pipelined(folder, wanted, deliver, batch_size)
                    break
                except LiteralTooLarge as exc:
                    if exc.uid is None or exc.uid not in wanted or len(refused) >= _MAX_REFUSED:
                        raise
                    refused.append(exc)
                    wanted = [u for u in wanted if u not in got and u != exc.uid]
        finally:
            self._ahead_wanted = None   # a hint for this download only (ImapAhead)
        if refused:
            uids_text = ", ".join(str(e.uid) for e in refused)
            raise ProtocolError(f"message uid {uids_text} not fetched: {refused[0].message}",
                                hint="the message is larger than mailcli accepts over IMAP")

    def _fetch_pipelined(self, folder: str, wanted: list[int], sink: MessageSink,
                         batch_size: int) -> None:
        batches = [wanted[i:i + batch_size] for i in range(0, len(wanted), batch_size)]
        limit = 2 * len(wanted) + 1000   # FETCH responses expected, unsolicited ones included
        seen = 0
        with self._errors("UID FETCH", folder=folder):
            self._select(folder)
            imap = self._c._imap
            guard = self._guard
            self._untagged("FETCH")
            pending: list[bytes] = []
            queue = iter(batches)
            failed: list[imap_exc.IMAPClientError] = []

            def send_next() -> None:
                batch = None if failed else next(queue, None)
                if batch is not None:
                    pending.append(self._send(b"UID FETCH " + uid_set(batch).encode()
                                              + b" (UID FLAGS BODY.PEEK[])"))
                elif not failed:
                    self._send_ahead()   # the next folder's SELECT + scan (ImapAhead)

            for _ in range(_PIPELINE_WINDOW):
                send_next()
            while pending:
                imap._get_response()
                items = imap.untagged_responses.pop("FETCH", None)
                if items:
                    if guard is not None:
                        guard.reset_held()
                    seen += len(items)
                    if seen > limit:
                        raise TooManyResponses(f"{self.config.host} sent more than {limit} FETCH "
                                               f"responses for {len(wanted)} messages; the "
                                               "connection was dropped")
                    try:
                        self._deliver(items, sink)
                    except BaseException:
                        if pending:     # replies still on the way: the stream is out of step
                            self._drop()
                        raise
                while pending and self._done(pending[0]):
                    try:
                        self._finish(pending.pop(0), "UID FETCH")
                    except imap_exc.IMAPClientAbortError:
                        raise
                    except imap_exc.IMAPClientError as exc:
                        # a batch refused: no more are sent, the ones in flight are read
                        # (what arrives is kept, the stream stays in step), then it fails
                        failed.append(exc)
                    send_next()
            if failed:
                raise failed[0]

    @staticmethod
    def _deliver(items: list[Any], sink: MessageSink) -> None:
        fast = fast_fetch_bodies(items)
        if fast is not None:
            for uid, raw, flags in fast:
                sink(uid, raw, flags)
            return
        for data in parse_fetch_response(items, False, False).values():
            body = data.get(b"BODY[]")
            uid = data.get(b"UID")
            if body is None or uid is None:
                continue   # an unsolicited flag update
            sink(int(uid), bytes(body), _flags(data.get(b"FLAGS", ())))

    # ---------- changing ----------
    def set_flags(self, folder: str, uids: Sequence[int], add: Flags = frozenset(),
                  remove: Flags = frozenset()) -> None:
        if not uids or not (add or remove):
            return
        with self._errors("UID STORE", folder=folder):
            self._select(folder)
            if add:
                self._c.add_flags(list(uids), [f.imap for f in add], silent=True)
            if remove:
                self._c.remove_flags(list(uids), [f.imap for f in remove], silent=True)

    def copy(self, folder: str, uids: Sequence[int], dest: str) -> dict[int, int]:
        if not uids:
            return {}
        with self._errors("UID COPY", folder=folder):
            self._select(folder)
        with self._errors("UID COPY", folder=dest):   # a missing folder now is the destination
            self._untagged("COPYUID")
            self._c.copy(list(uids), self._wire(dest))
            return _copyuid_map(self._untagged("COPYUID"))

    def move(self, folder: str, uids: Sequence[int], dest: str) -> dict[int, int]:
        if not uids:
            return {}
        if not self.atomic_move:
            mapping = self.copy(folder, uids, dest)
            self.delete(folder, uids)
            return mapping
        with self._errors("UID MOVE", folder=folder):
            self._select(folder)
        with self._errors("UID MOVE", folder=dest):   # a missing folder now is the destination
            self._untagged("COPYUID")
            self._c.move(list(uids), self._wire(dest))
            return _copyuid_map(self._untagged("COPYUID"))

    def delete(self, folder: str, uids: Sequence[int]) -> None:
        """Mark \\Deleted, then UID EXPUNGE (UIDPLUS). Without UIDPLUS a plain EXPUNGE
        would also remove messages someone else marked \\Deleted, so it is sent only when
        no other message in the folder carries \\Deleted; otherwise ours stay marked
        (hidden by every client, expunged by the next one that can)."""
        if not uids:
            return
        with self._errors("UID EXPUNGE", folder=folder):
            self._select(folder)
            c = self._c
            c.add_flags(list(uids), [b"\\Deleted"], silent=True)
            if Capability.UIDPLUS in self.capabilities:
                c.uid_expunge(list(uids))
                return
            others = set(c.search(["DELETED"])) - set(uids)
            if others:
                logger.warning("%s: %d other messages are marked \\Deleted and the server has no "
                               "UIDPLUS; not expunging", folder, len(others))
                return
            c.expunge()

    def append(self, folder: str, raw: bytes, flags: Flags = frozenset(),
               when: datetime | None = None) -> int | None:
        with self._errors("APPEND", folder=folder):
            self._untagged("APPENDUID")
            self._c.append(self._wire(folder), raw, [f.imap for f in flags], when)
            codes = self._untagged("APPENDUID")
        if not codes:
            return None
        parts = codes[-1].split()
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None

    # ---------- other ----------
    def quota(self) -> Quota:
        self._require(Capability.QUOTA)
        with self._errors("GETQUOTAROOT"):
            _roots, quotas = self._c.get_quota_root("INBOX")
        used = limit = msgs = msg_limit = None
        for q in quotas:
            if q.resource.upper() == "STORAGE":
                used, limit = int(q.usage) * 1024, int(q.limit) * 1024
            elif q.resource.upper() == "MESSAGE":
                msgs, msg_limit = int(q.usage), int(q.limit)
        return Quota(account=self.config.name, used_bytes=used, limit_bytes=limit, messages=msgs,
                     message_limit=msg_limit)

