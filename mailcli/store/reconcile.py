"""Reconciling the index with Maildirs that another client changed: neomutt or notmuch
renaming files (flags), deleting or adding them, and files left by a delivery that crashed
between its rename and its index commit. Cheap when nothing changed (a directory-time
stamp, then a name comparison); see scan_external_changes.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailcli.errors import FolderError
from mailcli.model import Flags
from mailcli.store import index, landing, state
from mailcli.store import maildir as md_mod
from mailcli.store.maildir import Maildir, MaildirName

if TYPE_CHECKING:
    from mailcli.store.facade import Store

STAMP_TRUST_NS = 1_000_000_000  # a directory time this old can be trusted (1 s file systems)

_stat = os.stat          # module-level so that tests can emulate coarse file system clocks
_now_ns = time.time_ns


@dataclass(frozen=True)
class FlagChange:
    """Flags another client changed on disk (file renamed)."""

    id: int
    uid: int | None
    old: Flags
    new: Flags


@dataclass(frozen=True)
class RemovedMessage:
    """A message whose file another client deleted (its index row is gone now)."""

    id: int
    uid: int | None
    uidl: str | None
    message_id: str | None


@dataclass(frozen=True)
class ExternalChanges:
    """What :meth:`Store.scan_external_changes` found and applied to the index."""

    flags_changed: tuple[FlagChange, ...] = ()
    removed: tuple[RemovedMessage, ...] = ()
    added: tuple[int, ...] = ()
    landed: tuple[int, ...] = ()   # of `added`: this program's downloads (kept their UID)

    def __bool__(self) -> bool:
        return bool(self.flags_changed or self.removed or self.added)


def scan_external_changes(store: Store, account: str, folder: str) -> ExternalChanges:
    """Reconcile the index with the Maildir after another client (neomutt, notmuch)
    renamed files (flags), deleted files, or added files; returns what changed.

    Also adopts files left by a delivery that crashed between rename and commit: a
    file whose ``,U=``/``,P=`` identity is not taken yet keeps it; other new files are
    local-only (uid None) and lose any stale ``,U=``/``,P=`` in their name. A file a
    landing record names (Store.batch: this program's download, its row lost in the
    crash) is listed in `landed` too: its UID is the server's word, so the sync need not
    check it (a UID the server has since expunged is deleted here, never uploaded again);
    one whose UID is taken meanwhile is a second copy of an indexed message and is
    removed. The records are removed once the reconciliation is committed.

    Cheap when nothing changed: if cur/ and new/ still have the times recorded when the
    index last matched them (the folder's Maildir stamp), nothing is listed or read;
    else the file names are compared with the index's (one listing, one query) and
    only a difference costs the full reconciliation. Any rename, delete or add changes
    a directory's times; times younger than 1 s are never recorded (see _maildir_stamp).
    """
    md = store.maildir(account, folder)
    if not md.exists() and store.count(account, folder):
        # never report a whole folder as deleted because its directory is missing
        # (unmounted disk, moved data dir): the sync engine would delete on the server
        raise FolderError(f"the Maildir of {account}:{folder} is missing: {md.path}",
                          hint="restore it, or run `mailcli index rebuild` to forget it")
    stamp = _maildir_stamp(md)
    if stamp is not None and stamp == state.maildir_stamp(store.db.conn(), account, folder):
        return ExternalChanges()   # neither cur/ nor new/ changed since the index matched
    if stamp is not None and _names_match(store, md, account, folder):
        with store.db.write() as conn:
            state.set_maildir_stamp(conn, account, folder, stamp)
        return ExternalChanges()
    changed: list[FlagChange] = []
    removed: list[RemovedMessage] = []
    added: list[int] = []
    landed: list[int] = []
    with store.db.write() as conn:
        ours, records = landing.read(md.path)   # under the lock: no batch is open
        state.set_maildir_stamp(conn, account, folder, None)
        rows = index.folder_rows(conn, account, folder)
        by_base = {_base_of(r.filename): r for r in rows}
        seen: set[str] = set()
        fresh = []
        for entry in md.entries():
            base = entry.name.base
            r = by_base.get(base)
            if r is None or base in seen:
                fresh.append(entry)
                continue
            seen.add(base)
            if entry.relname != r.filename:
                index.update_fields(conn, r.id, filename=entry.relname)
            if entry.name.flags != r.flags:
                index.update_fields(conn, r.id, flags=entry.name.flags)
                changed.append(FlagChange(r.id, r.uid, r.flags, entry.name.flags))
        for base, r in by_base.items():
            if base not in seen:
                env = index.get(conn, r.id)
                index.delete_message(conn, r.id, None)   # the file is gone: see store.fts
                removed.append(RemovedMessage(r.id, r.uid, r.uidl, env.message_id))
        taken = {r.uid for r in rows if r.uid is not None and _base_of(r.filename) in seen}
        used = set(seen)
        for entry in fresh:
            uid = entry.name.uid
            if uid is not None and entry.name.base in ours:
                if uid in taken:
                    md.remove(entry.relname)   # a second copy of an indexed download
                    continue
                landed.append(_adopt(store, conn, md, account, folder, entry, taken, used))
                added.append(landed[-1])
                continue
            added.append(_adopt(store, conn, md, account, folder, entry, taken, used))
    landing.drop(records)
    return ExternalChanges(tuple(changed), tuple(removed), tuple(added), tuple(landed))


def adopt_unknown(store: Store, account: str, folder: str) -> list[int]:
    """Index every file in the folder's cur/ and new/ that has no index row (as
    local-only messages, any ``,U=`` dropped); returns their new ids. Rows whose file is
    gone are left alone (the caller is forgetting the folder anyway). A file a landing
    record names with a UID (a download whose row a crash lost) is a copy of a server
    message that went with the folder: removed, not kept."""
    md = store.maildir(account, folder)
    added: list[int] = []
    with store.db.write() as conn:
        ours, records = landing.read(md.path)
        rows = index.folder_rows(conn, account, folder)
        bases = {_base_of(r.filename) for r in rows}
        used = set(bases)
        for entry in md.entries():
            if entry.name.base in bases:
                continue
            if entry.name.uid is not None and entry.name.base in ours:
                md.remove(entry.relname)   # this program's download: gone with the folder
                continue
            added.append(_adopt(store, conn, md, account, folder, entry,
                                set(), used, keep_ids=False))
    landing.drop(records)
    return added


def _names_match(store: Store, md: Maildir, account: str, folder: str) -> bool:
    """Whether the files in cur/ and new/ are exactly the index's file names (then no
    flag was renamed, no file deleted or added: the names carry the flags)."""
    names: set[str] = set()
    for sub in ("new", "cur"):   # the files Maildir.entries() lists, names unparsed
        prefix = sub + "/"
        with os.scandir(md.path / sub) as it:   # (a list comprehension: the quickest form)
            names.update([prefix + e.name for e in it
                          if e.name[0] != "." and e.is_file(follow_symlinks=False)])
    indexed = {r[0] for r in store.db.conn().execute(
        "SELECT filename FROM messages WHERE account = ? AND folder = ?", (account, folder))}
    return names == indexed


def _adopt(store: Store, conn: object, md: Maildir, account: str, folder: str,
           entry: md_mod.MaildirEntry, taken: set[int], used: set[str],
           keep_ids: bool = True) -> int:
    rel = entry.relname
    raw = md.read(rel)
    uid = entry.name.uid if keep_ids else None
    if uid is not None and uid in taken:
        uid = None
    uidl = entry.name.uidl if keep_ids else None
    if uidl is not None:
        known, mid = state.ledger_message(conn, account, uidl)  # type: ignore[arg-type]
        if known and mid is not None and _exists(conn, mid):
            uidl = None
    want = md_mod.strip_sync_ids(entry.name.base)
    if uid is not None:
        want += f",U={uid}"
    if uidl is not None:
        want += f",P={md_mod._escape_uidl(uidl)}"
    if want in used:  # a second file with a base already in use: give it its own
        want = md_mod.new_base(uid, uidl)
    if want != entry.name.base:
        rel = md.rename(rel, want)
    used.add(want)
    from mailcli.store.facade import safe_parse  # not at import: facade imports this module

    new_id = index.insert_message(
        conn, account=account, folder=folder, filename=rel,  # type: ignore[arg-type]
        parsed=safe_parse(raw), flags=entry.name.flags, size=len(raw), uid=uid, uidl=uidl,
        synced_flags=entry.name.flags if uid is not None else None)
    if uid is not None:
        taken.add(uid)
    if uidl is not None:
        state.ledger_add(conn, account, uidl, new_id)  # type: ignore[arg-type]
    return new_id


def _maildir_stamp(md: Maildir) -> str | None:
    """The identity and times of md's cur/ and new/ directories, or None if they cannot be
    trusted: a rename, delete or add in a directory changes its mtime and ctime (ctime
    also on a `touch`/restore that sets the mtime back), but a change within the same
    clock tick may not, so times younger than STAMP_TRUST_NS are never trusted."""
    try:
        cur, new = _stat(md.path / "cur"), _stat(md.path / "new")
    except OSError:
        return None
    newest = max(cur.st_mtime_ns, cur.st_ctime_ns, new.st_mtime_ns, new.st_ctime_ns)
    if _now_ns() - newest < STAMP_TRUST_NS:
        return None
    return ":".join(str(v) for st in (cur, new)
                    for v in (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))


def _base_of(relname: str) -> str:
    return MaildirName.parse(relname.partition("/")[2]).base


def _exists(conn: object, id: int) -> bool:
    return conn.execute("SELECT 1 FROM messages WHERE id = ?", (id,)).fetchone() is not None  # type: ignore[attr-defined]
