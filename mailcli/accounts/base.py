"""The protocol layer's one interface: an abstract Account over IMAP or POP3.

Architecture: config -> accounts (this layer) -> sync/send -> store -> service -> cli/tui.
Nothing above `accounts/` sees an imapclient or poplib object, a bytes-keyed response
or their exceptions: implementations translate every failure into mailcli.errors
(AuthError, TemporaryError, TLSError, ProtocolError, NotFoundError) with `raise ... from`.

What an implementation can do is declared up front in `capabilities`; callers plan
from them and never call an operation to find out whether it works. Calling an
operation that is not declared raises UnsupportedError.

Folder names are Unicode strings with "/" as the hierarchy separator whatever the
server uses; UIDs are IMAP UIDs (int). POP3 has one folder, "INBOX", and is driven
through its own interface beside the IMAP-shaped one: `Maildrop` (UIDL strings are its
stable keys). What a protocol is like before connecting (server folders, UIDs, uploads)
is the registry's `traits_for(config)`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from types import TracebackType
from typing import Protocol, Self

from mailcli.errors import MailcliError, TemporaryError, UnsupportedError
from mailcli.model import Flags, FolderChanges, FolderInfo, FolderStatus, PopEntry, Quota, RemoteFlags


class Capability(str, Enum):
    FOLDERS = "folders"            # more than one folder; create/delete/rename
    FLAGS = "flags"                # server-side flags
    COPY = "copy"
    MOVE = "move"                  # atomic MOVE (else copy + delete emulation is used)
    APPEND = "append"              # upload a message (Sent copies)
    QUOTA = "quota"                # storage quota (POP3 answers with STAT figures)
    CONDSTORE = "condstore"        # CHANGEDSINCE flag fetches, HIGHESTMODSEQ
    QRESYNC = "qresync"            # VANISHED on select: O(1) resync
    UIDPLUS = "uidplus"            # UID EXPUNGE, APPENDUID
    IDLE = "idle"
    NOTIFY = "notify"              # RFC 5465: changes of several folders on one connection
    UIDL = "uidl"                  # POP3: stable unique ids from the server
    TOP = "top"                    # POP3: headers only
    POP3 = "pop3"                  # the POP3 maildrop methods below work


class MessageSink(Protocol):
    """Receives fetched messages one at a time; the fetch never collects a mailbox."""

    def __call__(self, uid: int, raw: bytes, flags: Flags) -> None: ...


class Account(ABC):
    """A logged-in connection to one mail account. Use as a context manager."""

    protocol: str = ""
    capabilities: frozenset[Capability] = frozenset()

    def supports(self, cap: Capability) -> bool:
        return cap in self.capabilities

    def _require(self, cap: Capability) -> None:
        if cap not in self.capabilities:
            raise UnsupportedError(f"{self.protocol.upper()} accounts cannot do that ({cap.value})")

    # ---------- lifecycle ----------
    @abstractmethod
    def connect(self) -> None:
        """Open the connection (TLS as configured, verified), log in, negotiate extensions.

        Raises AuthError on a refused login, TemporaryError when the server cannot be
        reached, TLSError for certificate/STARTTLS problems. After connect(),
        `capabilities` reflects what this server offers.
        """

    @abstractmethod
    def close(self) -> None:
        """Log out politely. Never raises.

        POP3: QUIT *without* committing — if DELEs are pending and pop_commit() was not
        called, RSET is sent first, so deletions happen only through pop_commit().
        """

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def server_capabilities(self) -> tuple[str, ...]:
        """The raw capability names the server announced (for `account test`)."""
        return ()

    # ---------- folders ----------
    @abstractmethod
    def list_folders(self) -> list[FolderInfo]:
        """Every folder with its SPECIAL-USE role. POP3: just INBOX."""

    def list_folders_with_status(self) -> tuple[list[FolderInfo], dict[str, FolderStatus]]:
        """list_folders, and the STATUS of the folders the server could give with the
        listing (IMAP LIST-STATUS, RFC 5819: one command for both); a folder left out
        has none (ask folder_status or folder_statuses). Default: no statuses."""
        return self.list_folders(), {}

    def personal_prefix(self) -> str:
        """Where the user's own folders live ("INBOX/" when the server's personal namespace
        is "INBOX."), "/"-separated like every folder name here; "" at the top level."""
        return ""

    def create_folder(self, name: str) -> None:
        self._require(Capability.FOLDERS)
        raise NotImplementedError

    def delete_folder(self, name: str) -> None:
        self._require(Capability.FOLDERS)
        raise NotImplementedError

    def rename_folder(self, old: str, new: str) -> None:
        self._require(Capability.FOLDERS)
        raise NotImplementedError

    # ---------- reading ----------
    def folder_status(self, folder: str) -> FolderStatus:
        """UIDVALIDITY, UIDNEXT, message count and HIGHESTMODSEQ (None without CONDSTORE).

        Raises NotFoundError if the folder does not exist.
        """
        self._require(Capability.FOLDERS)
        raise NotImplementedError

    def folder_statuses(self, folders: Sequence[str]) -> dict[str, FolderStatus]:
        """folder_status of several folders at once (IMAP: pipelined, one round trip). A
        folder whose STATUS failed is left out (ask folder_status for its error)."""
        out: dict[str, FolderStatus] = {}
        for folder in folders:
            try:
                out[folder] = self.folder_status(folder)
            except TemporaryError:
                raise
            except MailcliError:
                continue
        return out

    def list_uids(self, folder: str) -> list[int]:
        """All UIDs of the folder, ascending."""
        self._require(Capability.FLAGS)
        raise NotImplementedError

    def fetch_flags(self, folder: str, uids: Sequence[int] | None = None,
                    changedsince: int | None = None) -> list[RemoteFlags]:
        """Flags (and MODSEQ/size) of the given UIDs, or all when None.

        With `changedsince` (CONDSTORE only) just the messages changed after that modseq.
        One command for the whole set, never one per message.
        """
        self._require(Capability.FLAGS)
        raise NotImplementedError

    def changes_since(self, folder: str, uidvalidity: int | None,
                      modseq: int | None) -> FolderChanges:
        """What changed since a known (uidvalidity, modseq).

        With QRESYNC: one SELECT (QRESYNC ...) returning changed flags and VANISHED.
        With CONDSTORE only: one SELECT when HIGHESTMODSEQ has not moved (nothing changed;
        expunges raise HIGHESTMODSEQ too), else a full flag scan (full True), because
        CONDSTORE alone cannot name expunged messages.
        Without either, or when uidvalidity/modseq is None or uidvalidity differs: a full
        flag scan (full True).
        """
        self._require(Capability.FLAGS)
        raise NotImplementedError

    def open_ahead(self, folder: str) -> None:
        """A hint: the next call will be ``changes_since(folder, None, None)`` (the
        folder's first sync). An account may send what that needs behind the next listing
        or behind the next fetch_messages' last batch, to save a round trip; any other
        call in between makes it read and drop those answers. The results never differ."""
        return None   # accounts without a use for it ignore it

    def fetch_message_ids(self, folder: str) -> dict[int, tuple[str | None, int]]:
        """uid -> (Message-ID header value or None, RFC822.SIZE) of every message in the
        folder, in one command (headers only). Used to re-match cached messages after a
        UIDVALIDITY change (sync/plan.py rematch)."""
        self._require(Capability.FLAGS)
        raise NotImplementedError

    def find_message_id(self, folder: str, message_id: str) -> dict[int, int]:
        """uid -> RFC822.SIZE of the messages in `folder` whose Message-ID is `message_id`
        (to adopt the copy an interrupted APPEND left instead of appending again). This
        default reads every Message-ID; servers override it with one UID SEARCH."""
        key = "".join(message_id.split())
        return {uid: size for uid, (mid, size) in self.fetch_message_ids(folder).items()
                if mid is not None and "".join(mid.split()) == key}

    def fetch_messages(self, folder: str, uids: Sequence[int], sink: MessageSink,
                       batch_size: int = 200) -> None:
        """Fetch raw messages (BODY.PEEK[], never setting \\Seen) in pipelined UID-range
        batches, handing each to `sink` as it arrives — each UID once. Batches of
        `batch_size` follow the order of `uids` (the engine passes them newest first);
        inside a batch the server's order (ascending UIDs) rules. UIDs that vanished on
        the server are skipped silently (the caller compares what it received)."""
        self._require(Capability.FLAGS)
        raise NotImplementedError

    # ---------- changing ----------
    def set_flags(self, folder: str, uids: Sequence[int], add: Flags = frozenset(),
                  remove: Flags = frozenset()) -> None:
        self._require(Capability.FLAGS)
        raise NotImplementedError

    def copy(self, folder: str, uids: Sequence[int], dest: str) -> dict[int, int]:
        """Copy; returns old uid -> new uid where the server tells (UIDPLUS COPYUID)."""
        self._require(Capability.COPY)
        raise NotImplementedError

    def move(self, folder: str, uids: Sequence[int], dest: str) -> dict[int, int]:
        """MOVE when offered, else COPY + \\Deleted + UID EXPUNGE. Returns the uid map."""
        self._require(Capability.COPY)
        raise NotImplementedError

    @property
    def atomic_move(self) -> bool:
        """Whether move() is one server command (IMAP MOVE): otherwise it is COPY, then
        \\Deleted + expunge, and a crash between them can leave a copy in both folders."""
        return False

    def read_only(self, folder: str) -> bool:
        """Whether the server opens `folder` read-only (SELECT answered [READ-ONLY], e.g.
        a folder shared with lookup+read rights): changes there would be refused."""
        return False

    def delete(self, folder: str, uids: Sequence[int]) -> None:
        """Mark \\Deleted and expunge just these UIDs (UID EXPUNGE when UIDPLUS)."""
        self._require(Capability.FLAGS)
        raise NotImplementedError

    def append(self, folder: str, raw: bytes, flags: Flags = frozenset(),
               when: datetime | None = None) -> int | None:
        """Upload a message; returns its UID when the server says (APPENDUID)."""
        self._require(Capability.APPEND)
        raise NotImplementedError

    # ---------- other ----------
    def quota(self) -> Quota:
        """Storage used/limit. POP3: messages and bytes in the maildrop (no limit)."""
        self._require(Capability.QUOTA)
        raise NotImplementedError

    def idle(self, folder: str, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a change in `folder`; True if one came."""
        self._require(Capability.IDLE)
        raise NotImplementedError

    def idle_wait(self, folder: str, timeout: float, stop: Callable[[], bool],
                  started: Callable[[], None] | None = None) -> bool:
        """IDLE on `folder` for up to `timeout` seconds, giving up early once `stop()` is
        true (checked at least twice a second), then end IDLE and prove the link alive
        (DONE answered within a short timeout, NOOP). True if the folder changed.
        `started` is called once the server accepted IDLE (changes from then on are
        pushed). Raises TemporaryError when the link is dead."""
        self._require(Capability.IDLE)
        raise NotImplementedError

    def notify_set(self, folders: Sequence[str]) -> None:
        """NOTIFY SET for new, expunged and flag-changed messages of `folders` (RFC 5465).
        Raises ProtocolError when the server refuses it."""
        self._require(Capability.NOTIFY)
        raise NotImplementedError

    def notify_wait(self, timeout: float, stop: Callable[[], bool],
                    started: Callable[[], None] | None = None) -> set[str]:
        """After notify_set: wait (IDLE, no folder selected) like idle_wait; returns the
        folders the server reported changes for."""
        self._require(Capability.NOTIFY)
        raise NotImplementedError

    def abort(self) -> None:
        """Close the connection at once without a LOGOUT (from another thread too: a
        blocked wait or command then fails). Never raises."""
        self.close()

class PopSink(Protocol):
    def __call__(self, entry: PopEntry, raw: bytes) -> None: ...


class Maildrop(Account):
    """A POP3 maildrop: an Account (lifecycle, INBOX, quota) plus the download-and-delete
    methods below, which the IMAP-shaped methods above do not cover. The POP3 sync
    (sync/pop3.py) drives an account through these alone."""

    @abstractmethod
    def pop_list(self) -> list[PopEntry]:
        """POP3: every message in the maildrop with its UIDL and size (UIDL + LIST)."""

    @abstractmethod
    def pop_retrieve(self, entries: Iterable[PopEntry], sink: PopSink) -> None:
        """POP3: RETR each entry (pipelined where the server offers PIPELINING) and hand
        it to the sink in order."""

    def pop_headers(self, entry: PopEntry) -> bytes:
        """POP3: TOP n 0, the header block only."""
        self._require(Capability.TOP)
        raise NotImplementedError

    @abstractmethod
    def pop_delete(self, entries: Iterable[PopEntry]) -> None:
        """POP3: DELE; takes effect only when pop_commit() sends QUIT and the server
        confirms. close() without pop_commit() undoes them (RSET); a connection that
        dies before QUIT deletes nothing."""

    @abstractmethod
    def pop_commit(self) -> None:
        """POP3: QUIT now, raising if the server does not confirm (deletions applied)."""
