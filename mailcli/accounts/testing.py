"""FakeAccount: an in-memory Account for sync-engine and TUI tests (no server).

Owns: a server model (folders of uid -> (raw, flags, modseq), UIDVALIDITY, UIDNEXT, a
HIGHESTMODSEQ counter, an expunge log for VANISHED; or a POP3 maildrop), honouring the
capability set it is given exactly as ImapAccount/Pop3Account do: operations that are
not declared raise UnsupportedError, changes_since follows the same QRESYNC / CONDSTORE
/ full-scan rules. Every Account method call is recorded in `calls` as (name, *args) so
tests can assert round trips; `fail_next()` injects an error into the next call(s).

Server-side changes made by "another client" go through the `server_*` methods, which
are not recorded in `calls`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailcli.accounts.base import Capability, Maildrop, MessageSink, PopSink
from mailcli.errors import MailcliError, NotFoundError, ProtocolError
from mailcli.model import Flag, Flags, FolderChanges, FolderInfo, FolderRole, FolderStatus, PopEntry, Quota, RemoteFlags

IMAP_FULL = frozenset({Capability.FOLDERS, Capability.FLAGS, Capability.COPY, Capability.MOVE,
                       Capability.APPEND, Capability.QUOTA, Capability.CONDSTORE, Capability.QRESYNC,
                       Capability.UIDPLUS, Capability.IDLE})
IMAP_MINIMAL = frozenset({Capability.FOLDERS, Capability.FLAGS, Capability.COPY, Capability.MOVE,
                          Capability.APPEND, Capability.IDLE})
POP3_FULL = frozenset({Capability.POP3, Capability.UIDL, Capability.TOP, Capability.QUOTA})

_ROLES = {"INBOX": FolderRole.INBOX, "Sent": FolderRole.SENT, "Drafts": FolderRole.DRAFTS,
          "Trash": FolderRole.TRASH, "Junk": FolderRole.JUNK}


@dataclass
class FakeFolder:
    uidvalidity: int
    uidnext: int = 1
    messages: dict[int, tuple[bytes, Flags, int]] = field(default_factory=dict)   # uid -> raw, flags, modseq
    expunged: list[tuple[int, int]] = field(default_factory=list)                # (uid, modseq)
    role: FolderRole | None = None
    selectable: bool = True


class FakeAccount(Maildrop):
    """In-memory account. `folders` seeds name -> {uid: (raw, flags)} (IMAP mode)."""

    def __init__(self, capabilities: Iterable[Capability] | None = None,
                 folders: dict[str, dict[int, tuple[bytes, Flags]]] | None = None, *,
                 protocol: str = "imap", name: str = "fake", uidvalidity: int = 1000,
                 quota_limit: int | None = 1 << 30) -> None:
        self.protocol = protocol
        self.name = name
        self.capabilities = frozenset(capabilities if capabilities is not None
                                      else (IMAP_FULL if protocol == "imap" else POP3_FULL))
        self.calls: list[tuple[Any, ...]] = []
        self.connected = False
        self.list_status = False    # True: statuses come with the listing (IMAP LIST-STATUS)
        self.quota_limit = quota_limit
        self.modseq = 1
        self.folders: dict[str, FakeFolder] = {}
        self._next_validity = uidvalidity
        self._failures: list[tuple[str, MailcliError]] = []
        self._idle_seen: dict[str, int] = {}
        # POP3 maildrop: (uidl, raw); `_marked` = uidls DELE'd in this session
        self.maildrop: list[tuple[str, bytes]] = []
        self._marked: set[str] = set()
        self._session: list[tuple[str, bytes]] = []
        if protocol == "imap":
            for fname in ("INBOX", *(folders or {})):
                if fname not in self.folders:
                    self.server_create(fname)
            for fname, msgs in (folders or {}).items():
                f = self.folders[fname]
                for uid, (raw, flags) in sorted(msgs.items()):
                    f.messages[uid] = (raw, frozenset(flags), self._bump())
                    f.uidnext = max(f.uidnext, uid + 1)

    # ---------- test controls (not recorded) ----------
    def count(self, name: str) -> int:
        """How many times Account method `name` was called."""
        return sum(1 for c in self.calls if c[0] == name)

    def fail_next(self, method: str, error: MailcliError, times: int = 1) -> None:
        """Make the next `times` calls of `method` raise `error`."""
        self._failures.extend([(method, error)] * times)

    def _bump(self) -> int:
        self.modseq += 1
        return self.modseq

    def server_create(self, folder: str) -> FakeFolder:
        self._next_validity += 1
        f = FakeFolder(uidvalidity=self._next_validity, role=_ROLES.get(folder))
        self.folders[folder] = f
        return f

    def server_deliver(self, folder: str, raw: bytes, flags: Flags = frozenset()) -> int:
        f = self.folders[folder] if folder in self.folders else self.server_create(folder)
        uid = f.uidnext
        f.uidnext += 1
        f.messages[uid] = (raw, frozenset(flags), self._bump())
        return uid

    def server_set_flags(self, folder: str, uid: int, flags: Flags) -> None:
        raw, _old, _m = self.folders[folder].messages[uid]
        self.folders[folder].messages[uid] = (raw, frozenset(flags), self._bump())

    def server_expunge(self, folder: str, uids: Iterable[int]) -> None:
        f = self.folders[folder]
        for uid in uids:
            if f.messages.pop(uid, None) is not None:
                f.expunged.append((uid, self._bump()))

    def server_reset_uidvalidity(self, folder: str) -> None:
        """Renumber a folder (new UIDVALIDITY, UIDs from 1), as a server rebuild would."""
        f = self.folders[folder]
        self._next_validity += 1
        msgs = [v for _k, v in sorted(f.messages.items())]
        f.uidvalidity, f.expunged = self._next_validity, []
        f.messages = {i + 1: (raw, flags, self._bump()) for i, (raw, flags, _m) in enumerate(msgs)}
        f.uidnext = len(msgs) + 1

    def server_pop_deliver(self, raw: bytes, uidl: str | None = None) -> str:
        uidl = uidl or "u" + hashlib.sha1(raw + str(len(self.maildrop)).encode()).hexdigest()[:16]
        self.maildrop.append((uidl, raw))
        return uidl

    def messages(self, folder: str) -> dict[int, bytes]:
        return {uid: m[0] for uid, m in self.folders[folder].messages.items()}

    def flags(self, folder: str) -> dict[int, Flags]:
        return {uid: m[1] for uid, m in self.folders[folder].messages.items()}

    # ---------- bookkeeping ----------
    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, *args))
        for i, (method, error) in enumerate(self._failures):
            if method == name:
                del self._failures[i]
                raise error
        if name not in ("connect", "close") and not self.connected:
            raise ProtocolError(f"{self.name}: not connected")

    def _folder(self, name: str) -> FakeFolder:
        try:
            return self.folders[name]
        except KeyError:
            raise NotFoundError(f"folder {name!r} does not exist on {self.name}") from None

    def _status(self, name: str) -> FolderStatus:
        f = self._folder(name)
        unseen = sum(1 for _r, fl, _m in f.messages.values() if Flag.SEEN not in fl)
        return FolderStatus(name=name, uidvalidity=f.uidvalidity, uidnext=f.uidnext,
                            messages=len(f.messages), unseen=unseen,
                            highestmodseq=self._highest(f) if Capability.CONDSTORE in self.capabilities else None)

    def _highest(self, f: FakeFolder) -> int:
        return max([1, *(m for _r, _f, m in f.messages.values()), *(m for _u, m in f.expunged)])

    def _remote(self, f: FakeFolder, uids: Iterable[int]) -> list[RemoteFlags]:
        cond = Capability.CONDSTORE in self.capabilities
        return [RemoteFlags(uid=u, flags=f.messages[u][1], modseq=f.messages[u][2] if cond else None,
                            size=len(f.messages[u][0])) for u in sorted(uids) if u in f.messages]

    # ---------- lifecycle ----------
    def connect(self) -> None:
        self._call("connect")
        self.connected = True
        self._session = list(self.maildrop)
        self._marked = set()

    def close(self) -> None:
        self.calls.append(("close",))
        self.connected = False
        self._marked = set()      # POP3: RSET semantics, nothing committed

    @property
    def server_capabilities(self) -> tuple[str, ...]:
        return tuple(sorted(c.value.upper() for c in self.capabilities))

    # ---------- folders ----------
    def list_folders(self) -> list[FolderInfo]:
        self._call("list_folders")
        if self.protocol == "pop3":
            return [FolderInfo("INBOX", role=FolderRole.INBOX)]
        return [FolderInfo(n, role=f.role, selectable=f.selectable) for n, f in self.folders.items()]

    def list_folders_with_status(self) -> tuple[list[FolderInfo], dict[str, FolderStatus]]:
        if not self.list_status or self.protocol == "pop3":
            return super().list_folders_with_status()
        self._call("list_folders_with_status")
        folders = [FolderInfo(n, role=f.role, selectable=f.selectable) for n, f in self.folders.items()]
        return folders, {f.name: self._status(f.name) for f in folders if f.selectable}

    def create_folder(self, name: str) -> None:
        self._require(Capability.FOLDERS)
        self._call("create_folder", name)
        if name in self.folders:
            raise ProtocolError(f"CREATE failed on {self.name}: [ALREADYEXISTS] {name}")
        self.server_create(name)

    def delete_folder(self, name: str) -> None:
        self._require(Capability.FOLDERS)
        self._call("delete_folder", name)
        self._folder(name)
        del self.folders[name]

    def rename_folder(self, old: str, new: str) -> None:
        self._require(Capability.FOLDERS)
        self._call("rename_folder", old, new)
        f = self._folder(old)
        if new in self.folders:
            raise ProtocolError(f"RENAME failed on {self.name}: [ALREADYEXISTS] {new}")
        self.folders[new] = self.folders.pop(old)
        f.role = _ROLES.get(new)

    # ---------- reading ----------
    def folder_status(self, folder: str) -> FolderStatus:
        self._require(Capability.FOLDERS)
        self._call("folder_status", folder)
        return self._status(folder)

    def folder_statuses(self, folders: Sequence[str]) -> dict[str, FolderStatus]:
        self._require(Capability.FOLDERS)
        self._call("folder_statuses", tuple(folders))
        return {f: self._status(f) for f in folders if f in self.folders}

    def list_uids(self, folder: str) -> list[int]:
        self._require(Capability.FLAGS)
        self._call("list_uids", folder)
        return sorted(self._folder(folder).messages)

    def fetch_flags(self, folder: str, uids: Sequence[int] | None = None,
                    changedsince: int | None = None) -> list[RemoteFlags]:
        self._require(Capability.FLAGS)
        self._call("fetch_flags", folder, None if uids is None else tuple(uids), changedsince)
        f = self._folder(folder)
        out = self._remote(f, f.messages if uids is None else uids)
        if changedsince is not None and Capability.CONDSTORE in self.capabilities:
            out = [r for r in out if (r.modseq or 0) > changedsince]
        return out

    def changes_since(self, folder: str, uidvalidity: int | None,
                      modseq: int | None) -> FolderChanges:
        self._require(Capability.FLAGS)
        self._call("changes_since", folder, uidvalidity, modseq)
        f = self._folder(folder)
        status = self._status(folder)
        self._idle_seen[folder] = self._highest(f)
        full = FolderChanges(status, tuple(self._remote(f, f.messages)), (), full=True)
        if not uidvalidity or not modseq or uidvalidity != f.uidvalidity:
            return full
        if Capability.QRESYNC in self.capabilities:
            changed = [u for u, m in f.messages.items() if m[2] > modseq]
            vanished = sorted(u for u, m in f.expunged if m > modseq)
            return FolderChanges(status, tuple(self._remote(f, changed)), tuple(vanished))
        if Capability.CONDSTORE in self.capabilities and self._highest(f) <= modseq:
            return FolderChanges(status, ())
        return full

    def fetch_message_ids(self, folder: str) -> dict[int, tuple[str | None, int]]:
        self._require(Capability.FLAGS)
        self._call("fetch_message_ids", folder)
        out: dict[int, tuple[str | None, int]] = {}
        for uid, (raw, _flags, _m) in sorted(self._folder(folder).messages.items()):
            head = raw.split(b"\r\n\r\n", 1)[0]
            mid = None
            for line in head.split(b"\r\n"):
                name, sep, value = line.partition(b":")
                if sep and name.strip().lower() == b"message-id":
                    mid = value.strip().decode("utf-8", "replace") or None
                    break
            out[uid] = (mid, len(raw))
        return out

    def fetch_messages(self, folder: str, uids: Sequence[int], sink: MessageSink,
                       batch_size: int = 200) -> None:
        self._require(Capability.FLAGS)
        self._call("fetch_messages", folder, tuple(uids))
        f = self._folder(folder)
        order = list(dict.fromkeys(uids))      # the caller's order, batch by batch
        for i in range(0, len(order), max(1, batch_size)):
            for uid in sorted(order[i:i + max(1, batch_size)]):
                if uid in f.messages:
                    raw, flags, _m = f.messages[uid]
                    sink(uid, raw, flags)

    # ---------- changing ----------
    def set_flags(self, folder: str, uids: Sequence[int], add: Flags = frozenset(),
                  remove: Flags = frozenset()) -> None:
        self._require(Capability.FLAGS)
        self._call("set_flags", folder, tuple(uids), frozenset(add), frozenset(remove))
        f = self._folder(folder)
        for uid in uids:
            if uid in f.messages:
                raw, flags, _m = f.messages[uid]
                f.messages[uid] = (raw, (flags | add) - remove, self._bump())

    def copy(self, folder: str, uids: Sequence[int], dest: str) -> dict[int, int]:
        self._require(Capability.COPY)
        self._call("copy", folder, tuple(uids), dest)
        return self._copy(folder, uids, dest)

    def _copy(self, folder: str, uids: Sequence[int], dest: str) -> dict[int, int]:
        src, dst = self._folder(folder), self._folder(dest)
        mapping = {}
        for uid in sorted(uids):
            if uid in src.messages:
                raw, flags, _m = src.messages[uid]
                mapping[uid] = self.server_deliver(dest, raw, flags)
        del dst
        return mapping if Capability.UIDPLUS in self.capabilities else {}

    def move(self, folder: str, uids: Sequence[int], dest: str) -> dict[int, int]:
        self._require(Capability.COPY)
        self._call("move", folder, tuple(uids), dest)
        mapping = self._copy(folder, uids, dest)
        self.server_expunge(folder, uids)
        return mapping

    def delete(self, folder: str, uids: Sequence[int]) -> None:
        self._require(Capability.FLAGS)
        self._call("delete", folder, tuple(uids))
        self._folder(folder)
        self.server_expunge(folder, uids)

    def append(self, folder: str, raw: bytes, flags: Flags = frozenset(),
               when: datetime | None = None) -> int | None:
        self._require(Capability.APPEND)
        self._call("append", folder, len(raw), frozenset(flags))
        self._folder(folder)
        uid = self.server_deliver(folder, raw, flags)
        return uid if Capability.UIDPLUS in self.capabilities else None

    # ---------- other ----------
    def quota(self) -> Quota:
        self._require(Capability.QUOTA)
        self._call("quota")
        if self.protocol == "pop3":
            live = [m for m in self._session]
            return Quota(self.name, sum(len(r) for _u, r in live), None, len(live))
        used = sum(len(m[0]) for f in self.folders.values() for m in f.messages.values())
        return Quota(self.name, used, self.quota_limit)

    def idle(self, folder: str, timeout: float) -> bool:
        """True at once if the folder changed since the last idle()/changes_since();
        otherwise False at once (no waiting: tests stay fast)."""
        self._require(Capability.IDLE)
        self._call("idle", folder, timeout)
        now = self._highest(self._folder(folder))
        before = self._idle_seen.get(folder, now)
        self._idle_seen[folder] = now
        return now > before

    # ---------- POP3 ----------
    def pop_list(self) -> list[PopEntry]:
        self._require(Capability.POP3)
        self._call("pop_list")
        return [PopEntry(i + 1, uidl if Capability.UIDL in self.capabilities else _key(raw), len(raw))
                for i, (uidl, raw) in enumerate(self._session) if uidl not in self._marked]

    def pop_retrieve(self, entries: Iterable[PopEntry], sink: PopSink) -> None:
        self._require(Capability.POP3)
        todo = list(entries)
        self._call("pop_retrieve", tuple(e.number for e in todo))
        for e in todo:
            sink(e, self._session[e.number - 1][1])

    def pop_headers(self, entry: PopEntry) -> bytes:
        self._require(Capability.TOP)
        self._call("pop_headers", entry.number)
        raw = self._session[entry.number - 1][1]
        end = raw.find(b"\r\n\r\n")
        return raw if end < 0 else raw[:end + 4]

    def pop_delete(self, entries: Iterable[PopEntry]) -> None:
        self._require(Capability.POP3)
        todo = list(entries)
        self._call("pop_delete", tuple(e.number for e in todo))
        for e in todo:
            self._marked.add(self._session[e.number - 1][0])

    def pop_commit(self) -> None:
        self._require(Capability.POP3)
        self._call("pop_commit")
        self.maildrop = [(u, r) for u, r in self.maildrop if u not in self._marked]
        self._marked = set()
        self.connected = False


def _key(raw: bytes) -> str:
    from mailcli.accounts.pop3 import fallback_key

    return fallback_key(raw, len(raw))
