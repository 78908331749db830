"""Plain Maildirs on disk: folder-name mapping, atomic delivery, flags in file names.

Owns everything that touches the files under ``<data>/mail/<account>/<folder>/{cur,new,tmp}``
and nothing else (no SQL here).

Folder names
    An IMAP name is "/"-separated; each level becomes one directory level, each level's
    text escaped by :func:`encode_component` so that any Unicode name maps to a safe,
    unique directory and back (:func:`folder_to_relpath` / :func:`relpath_to_folder`):
    ``%`` + two hex digits escapes ``%``, ``\\``, C0/C1 control characters, DEL, a leading
    ``.`` (so ``.``/``..``/dot-dirs cannot happen) and the first letter of names equal to
    ``cur``/``new``/``tmp`` in any case. The empty name is ``%``. A level longer than
    :data:`MAX_COMPONENT` bytes is split over several directories, each but the last ending
    in ``%+`` ("continued"), so no directory name exceeds the file-system limit. A whole
    path longer than :data:`MAX_RELPATH` bytes (a deep hierarchy of long names) becomes
    ``%#<hash>`` at the top; only the index maps it back to the name.

File names
    ``<sec>.M<usec>P<pid>Q<counter>.<host>[,U=<uid>][:2,<flags>]`` (the Maildir spec's
    unique name, mbsync's ``,U=`` for the IMAP UID, so a rebuilt index recovers UIDs). The
    part before ``:`` (the *base*) never changes for the life of a message; neomutt and
    notmuch keep it when they rename for flags, which is how external flag changes are
    matched. Flag letters are written in ASCII order; letters mailcli does not know
    (``P``, Dovecot keyword letters) are preserved across renames.

Durability (the fsync policy)
    :meth:`Maildir.deliver` writes ``tmp/<name>``, fsyncs the file, renames it into
    ``new/`` (no flags) or ``cur/`` (with flags) and, with ``fsync=True``, fsyncs the
    target directory so the rename itself survives a power loss. Use that where a server
    copy will be deleted (POP3). Inside ``with maildir.batch():`` every file is still
    made durable before its rename, but that (per-file fsyncs, or one syncfs(2) for a
    large batch: :func:`_make_durable`), the renames and one fsync per touched directory
    run together when the batch ends (see :func:`batch`). A crash at any point leaves at
    most a stray file in ``tmp/`` (never a partial file in ``cur/``/``new/``);
    :meth:`Maildir.clean_tmp` removes those.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailcli.model import Flag, Flags
from mailcli.store import landing

logger = logging.getLogger(__name__)

TMP_MAX_AGE = 36 * 3600  # a tmp/ file this old is a crashed delivery (the Maildir rule)
MAX_COMPONENT = 200  # bytes per directory level (file systems allow 255)
MAX_RELPATH = 1024   # bytes of a folder's relative path before it is hashed (PATH_MAX 4096)
_HASHED = "%#"       # never produced by encode_component ("%" is always escaped)
_RESERVED = {"cur", "new", "tmp"}
_CONTINUED = "%+"
_SUBDIRS = ("cur", "new", "tmp")


# --------------------------------------------------------------------------- names
def _must_escape(ch: str) -> bool:
    o = ord(ch)
    return (ch in "%\\/" or o < 0x20 or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF)


def _esc(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def _fix_chunk(chunk: str) -> str:
    """Make one on-disk directory name safe: no leading dot, never cur/new/tmp."""
    if chunk.startswith(".") or chunk.lower() in _RESERVED:
        return _esc(chunk[0]) + chunk[1:]
    return chunk


def encode_component(name: str) -> str:
    """One folder level (no "/" split) -> a safe directory name (may contain "/" for
    continuation when the level is longer than MAX_COMPONENT bytes)."""
    if name == "":
        return "%"
    pieces = [_esc(ch) if _must_escape(ch) else ch for ch in name]
    # split into chunks of at most MAX_COMPONENT bytes (escapes are never cut); room is
    # left for the continuation mark and for escaping the chunk's first character
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    limit = MAX_COMPONENT - len(_CONTINUED) - 3
    for piece in pieces:
        n = len(piece.encode("utf-8", "surrogatepass"))
        if size + n > limit and cur:
            chunks.append("".join(cur))
            cur, size = [], 0
        cur.append(piece)
        size += n
    chunks.append("".join(cur))
    fixed = [_fix_chunk(c) for c in chunks]
    return "/".join([c + _CONTINUED for c in fixed[:-1]] + [fixed[-1]])


_PCT = re.compile(r"(?:%[0-9A-F]{2})+")


def decode_component(text: str) -> str:
    """Inverse of :func:`encode_component` for a single (already joined) level."""
    if text == "%":
        return ""
    return _PCT.sub(lambda m: bytes.fromhex(m.group(0).replace("%", "")).decode(
        "utf-8", "surrogatepass"), text)


def folder_to_relpath(folder: str) -> str:
    """IMAP folder name ("/"-separated) -> relative directory path (POSIX separators).
    A path longer than MAX_RELPATH bytes becomes one hashed level (``%#`` + SHA-256 of the
    name), which :func:`relpath_to_folder` cannot invert: the index knows the name."""
    rel = "/".join(encode_component(part) for part in folder.split("/"))
    if len(rel.encode("utf-8", "surrogatepass")) > MAX_RELPATH:
        digest = hashlib.sha256(folder.encode("utf-8", "surrogatepass")).hexdigest()
        return _HASHED + digest[:40]
    return rel


def relpath_to_folder(relpath: str) -> str:
    """Relative directory path -> IMAP folder name (inverse of :func:`folder_to_relpath`)."""
    levels: list[str] = []
    pending = ""
    for part in relpath.split("/"):
        if part.endswith(_CONTINUED) and part != _CONTINUED:
            pending += part[: -len(_CONTINUED)]
            continue
        levels.append(decode_component(pending + part))
        pending = ""
    if pending:
        raise ValueError(f"dangling continuation in {relpath!r}")
    return "/".join(levels)


# ----------------------------------------------------------------------- file names
_HOST: tuple[int, str] | None = None


def _safe_host() -> str:
    global _HOST
    if _HOST is None or _HOST[0] != os.getpid():
        host = socket.gethostname() or "localhost"
        _HOST = (os.getpid(),
                 host.replace("/", "\\057").replace(":", "\\072").replace(",", "\\054"))
    return _HOST[1]


_UID_RE = re.compile(r",U=(\d+)")
_UIDL_RE = re.compile(r",P=([^,:]+)")
_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _escape_uidl(uidl: str) -> str:
    return "".join(_esc(ch) if ch in "%/:,\\" or not ch.isprintable() or ch == " " else ch
                   for ch in uidl)


def uidl_fits_name(uidl: str) -> bool:
    """Whether a file name carrying this POP3 UIDL (escaped, with every flag) fits in the
    255 bytes a file system allows."""
    return len((new_base(uidl=uidl) + ":2,DFPRST").encode()) <= 255


def new_base(uid: int | None = None, uidl: str | None = None) -> str:
    """A fresh unique Maildir base name (spec: time.unique.host), then ``,U=<uid>`` (IMAP)
    and/or ``,P=<escaped uidl>`` (POP3) so a rebuilt index recovers the sync identity."""
    now = time.time()
    with _counter_lock:
        n = next(_counter)
    base = f"{int(now)}.M{int((now % 1) * 1e6)}P{os.getpid()}Q{n}.{_safe_host()}"
    if uid is not None:
        base += f",U={uid}"
    if uidl is not None:
        base += f",P={_escape_uidl(uidl)}"
    return base


def strip_sync_ids(base: str) -> str:
    """The base without ``,U=``/``,P=`` parts (for a message whose server identity is gone)."""
    return _UIDL_RE.sub("", _UID_RE.sub("", base))


@dataclass(frozen=True)
class MaildirName:
    """A parsed Maildir file name: base, known flags, unknown info letters."""

    base: str
    flags: Flags
    extra: str = ""  # info letters mailcli does not model, preserved verbatim
    has_info: bool = False

    @classmethod
    def parse(cls, name: str) -> MaildirName:
        base, sep, info = name.partition(":")
        if not sep or not info.startswith("2,"):
            return cls(base=base, flags=frozenset(), has_info=bool(sep))
        flags: set[Flag] = set()
        extra = []
        for letter in info[2:]:
            flag = Flag.from_maildir(letter)
            if flag is None:
                extra.append(letter)
            else:
                flags.add(flag)
        return cls(base=base, flags=frozenset(flags), extra="".join(extra), has_info=True)

    @property
    def uid(self) -> int | None:
        m = _UID_RE.search(self.base)
        return int(m.group(1)) if m else None

    @property
    def uidl(self) -> str | None:
        m = _UIDL_RE.search(self.base)
        return decode_component(m.group(1)) if m else None

    def with_flags(self, flags: Flags) -> MaildirName:
        return MaildirName(self.base, frozenset(flags), self.extra, True)

    def filename(self) -> str:
        letters = "".join(sorted({f.maildir for f in self.flags} | set(self.extra)))
        return f"{self.base}:2,{letters}"


def flags_to_letters(flags: Flags) -> str:
    """Flags -> Maildir letters in ASCII order ("FS")."""
    return "".join(sorted(f.maildir for f in flags))


@functools.lru_cache(maxsize=512)
def letters_to_flags(letters: str) -> Flags:
    """Maildir letters -> flags (unknown letters ignored; cached: a folder's rows share a
    handful of flag sets)."""
    return frozenset(f for f in (Flag.from_maildir(ch) for ch in letters) if f is not None)


# ------------------------------------------------------------------------- Maildir
@dataclass(frozen=True)
class MaildirEntry:
    """One message file as found on disk. `relname` is "cur/<name>" or "new/<name>"."""

    relname: str
    name: MaildirName


_batch = threading.local()
_created: set[str] = set()  # Maildirs known to exist (saves mkdir calls per delivery)


@contextlib.contextmanager
def batch(landed: list[str] | None = None) -> Iterator[None]:
    """Group this thread's deliveries (into any Maildir) for one durable flush at the end.

    Inside the block, :meth:`Maildir.deliver` writes ``tmp/<name>`` and returns the final
    relative name at once; on a normal exit every pending file is fsynced, *then* renamed
    into ``new/``/``cur/``, then each touched directory is fsynced once. The order per file
    stays tmp -> fsync -> rename; the fsyncs simply run back to back, which lets the file
    system merge their journal commits (3-5x faster than interleaving them with writes).
    A message delivered in a batch is readable once the batch ends. If the block raises,
    the pending tmp files are removed and nothing reaches ``new/``/``cur/``. Nests.

    `landed`: the caller commits index rows for these files after the batch (the Store).
    Before the renames, each Maildir that receives files carrying a server UID gets a
    landing record (store/landing.py), made durable with the files; its path is
    appended to `landed`, for the caller to remove once its rows are committed. A crash
    in between leaves files without rows, and the record says they are this program's
    downloads, not another program's mail (store/reconcile.py).
    """
    if getattr(_batch, "dirty", None) is not None:
        yield
        return
    _batch.dirty = set()
    _batch.pending = []
    try:
        yield
    except BaseException:
        for tmp, _final, _fsync in _batch.pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    else:
        pending = _batch.pending
        records: list[str] = []
        try:
            if landed is not None:
                records = landing.write(_uid_bases(pending), new_base())
                landed.extend(records)
            durable = any(fsync for _tmp, _final, fsync in pending)
            _make_durable([tmp for tmp, _final, fsync in pending if fsync]
                          + (records if durable else []))
            if durable:
                for record in records:   # its name too, before any rename can last
                    fsync_dir(os.path.dirname(record))
            for tmp, final, _fsync in pending:
                os.rename(tmp, final)
        except BaseException:
            for tmp, _final, _fsync in pending:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            landing.drop(records)
            raise
    finally:
        dirty, _batch.dirty, _batch.pending = _batch.dirty, None, None
        for d in sorted(dirty):
            with contextlib.suppress(FileNotFoundError):
                fsync_dir(d)


def _uid_bases(pending: list[tuple[str, str, bool]]) -> dict[str, list[str]]:
    """Maildir path -> the base names of the pending files that carry a ``,U=`` UID."""
    out: dict[str, list[str]] = {}
    for _tmp, final, _fsync in pending:
        root, _sub, name = final.rsplit("/", 2)
        base = name.partition(":")[0]
        if _UID_RE.search(base):
            out.setdefault(root, []).append(base)
    return out


SYNCFS_MIN = 16   # pending files from which one syncfs(2) replaces per-file fsyncs
_syncfs: object = None   # libc.syncfs, False when unavailable (resolved on first use)


def _make_durable(paths: list[str]) -> None:
    """Make the written files `paths` durable before they are renamed into place.

    Few files: fsync each. Many (a download batch): one ``syncfs(2)`` per file system
    they are on, which writes back and commits everything dirty there in one journal
    commit instead of one commit per file (1,000 messages: ~0.35 s of fsyncs -> one
    call). syncfs waits for other processes' dirty data on the same file system too, so
    it is only used from SYNCFS_MIN files on; without syncfs (not Linux) or if it fails,
    every file is fsynced. Since Linux 5.8 syncfs reports writeback errors like fsync.
    """
    if len(paths) >= SYNCFS_MIN:
        fn = _syncfs_fn()
        if fn is not None:
            devices: dict[int, str] = {}
            for directory in {os.path.dirname(p) for p in paths}:
                devices.setdefault(os.stat(directory).st_dev, directory)
            ok = True
            for directory in devices.values():
                fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    ok = fn(fd) == 0 and ok  # type: ignore[operator]
                finally:
                    os.close(fd)
            if ok:
                return
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _syncfs_fn() -> object:
    global _syncfs
    if _syncfs is None:
        _syncfs = False
        try:
            import ctypes
            fn = ctypes.CDLL(None, use_errno=True).syncfs
            fn.argtypes = [ctypes.c_int]
            _syncfs = fn
        except (OSError, AttributeError, ImportError):
            pass
    return _syncfs or None


class Maildir:
    """One folder's Maildir. Thread-safe for concurrent deliveries (unique names)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._dir = str(self.path)   # delivery joins strings (a profile of 11,000 deliveries
                                     # counted ~99,000 Path constructions)

    # -- layout
    def create(self) -> None:
        key = str(self.path)
        if key in _created and os.path.isdir(key + "/tmp"):
            return
        for sub in _SUBDIRS:
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        _created.add(key)

    def exists(self) -> bool:
        return all((self.path / sub).is_dir() for sub in ("cur", "new"))

    # -- durability
    batch = staticmethod(batch)

    def _synced_dir(self, directory: Path | str, fsync: bool) -> None:
        dirty = getattr(_batch, "dirty", None)
        if dirty is not None:
            dirty.add(os.fspath(directory))
        elif fsync:
            fsync_dir(directory)

    # -- writing
    def deliver(self, raw: bytes, flags: Flags = frozenset(), uid: int | None = None,
                fsync: bool = True, uidl: str | None = None) -> str:
        """Store `raw` byte-for-byte; returns the relative name ("new/..." or "cur/...").

        Write tmp/ -> fsync(file) -> rename. Without flags the message goes to new/,
        with flags to cur/ with a ``:2,`` suffix. `fsync=False` skips every fsync (only
        for data that can be fetched again, e.g. benchmarks/tests).
        """
        self.create()
        base = new_base(uid, uidl)
        if flags:
            rel = "cur/" + MaildirName(base, frozenset(flags), "", True).filename()
        else:
            rel = "new/" + base
        tmp = f"{self._dir}/tmp/{base}"
        pending = getattr(_batch, "pending", None)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(raw)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if fsync and pending is None:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.close(fd)
        final = f"{self._dir}/{rel}"
        if pending is not None:  # inside batch(): fsync + rename when the batch ends
            pending.append((tmp, final, fsync))
            self._synced_dir(f"{self._dir}/{rel[:3]}", fsync)
            return rel
        try:
            os.rename(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._synced_dir(f"{self._dir}/{rel[:3]}", fsync)
        return rel

    def pending_path(self, relname: str) -> str:
        """Where a message delivered inside batch() is until the batch ends (tmp/),
        readable by others meanwhile; its final place afterwards."""
        tmp = f"{self._dir}/tmp/{relname.partition('/')[2].partition(':')[0]}"
        return tmp if getattr(_batch, "pending", None) is not None and os.path.exists(tmp) \
            else f"{self._dir}/{relname}"

    def discard(self, relname: str) -> None:
        """Undo a deliver(): inside batch() the pending file is dropped (it never reaches
        new/ or cur/); outside, the file is removed."""
        pending = getattr(_batch, "pending", None)
        final = f"{self._dir}/{relname}"
        if pending is not None:
            for i, (tmp, target, _fsync) in enumerate(pending):
                if target == final:
                    del pending[i]
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    return
        self.remove(relname)

    def set_flags(self, relname: str, flags: Flags, fsync: bool = False) -> str:
        """Rename a message for new flags (into cur/); returns the new relative name.

        Raises FileNotFoundError when the file is gone (another client moved it).
        """
        sub, _, name = relname.partition("/")
        parsed = MaildirName.parse(name)
        new_rel = "cur/" + parsed.with_flags(flags).filename()
        if new_rel != relname:
            os.rename(self.path / relname, self.path / new_rel)
            self._synced_dir(self.path / "cur", fsync)
        return new_rel

    def rename(self, relname: str, base: str, dest: Maildir | None = None,
               fsync: bool = False) -> str:
        """Give a message a new base (e.g. a new ``,U=``), optionally moving it to `dest`
        (same file system). Flags are kept; returns the new relative name in `dest`."""
        target = dest or self
        target.create()
        sub, _, name = relname.partition("/")
        parsed = MaildirName.parse(name)
        if sub == "new" and not parsed.has_info:
            new_rel = "new/" + base
        else:
            new_rel = "cur/" + MaildirName(base, parsed.flags, parsed.extra, True).filename()
        os.rename(self.path / relname, target.path / new_rel)
        target._synced_dir(target.path / new_rel.split("/")[0], fsync)
        if target is not self:
            self._synced_dir(self.path / sub, fsync)
        return new_rel

    def remove(self, relname: str, fsync: bool = False) -> bool:
        """Delete one message file; False if it was already gone."""
        try:
            os.unlink(self.path / relname)
        except FileNotFoundError:
            return False
        self._synced_dir(self.path / relname.split("/")[0], fsync)
        return True

    def remove_empty(self, up_to: Path) -> None:
        """Remove this Maildir once its messages are gone: tmp/ leftovers (crashed
        deliveries, never complete messages), then its directories and the parents that
        were only the way to it ("A" of "A/B" when A is no folder), below `up_to`. Whatever
        is not empty stays (a file that appeared meanwhile, another folder)."""
        tmp = self.path / "tmp"
        if tmp.is_dir():
            for leftover in tmp.iterdir():
                leftover.unlink()
        for sub in ("tmp", "new", "cur"):
            with contextlib.suppress(OSError):
                (self.path / sub).rmdir()
        with contextlib.suppress(OSError):
            self.path.rmdir()
        parent = self.path.parent
        while parent != up_to and up_to in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def read(self, relname: str) -> bytes:
        return (self.path / relname).read_bytes()

    # -- reading the directory
    def entries(self) -> Iterator[MaildirEntry]:
        """Every message file in new/ and cur/ (tmp/ and dot-files are ignored)."""
        for sub in ("new", "cur"):
            try:
                it = os.scandir(self.path / sub)
            except FileNotFoundError:
                continue
            with it:
                for entry in it:
                    if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                        continue
                    yield MaildirEntry(f"{sub}/{entry.name}", MaildirName.parse(entry.name))

    def clean_tmp(self, max_age: float = TMP_MAX_AGE) -> int:
        """Remove tmp/ files older than `max_age` seconds (leftovers of crashed deliveries)."""
        removed = 0
        cutoff = time.time() - max_age
        try:
            it = os.scandir(self.path / "tmp")
        except FileNotFoundError:
            return 0
        with it:
            for entry in it:
                try:
                    if entry.name.startswith(landing.PREFIX):
                        continue   # removed by the reconciliation that reads it
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime <= cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed


def fsync_dir(path: Path | str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def iter_maildirs(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative dir path, absolute path) of every Maildir (has cur/ and new/) under root."""
    if not root.is_dir():
        return
    for dirpath, dirnames, _files in os.walk(root):
        here = Path(dirpath)
        if "cur" in dirnames and "new" in dirnames:
            rel = here.relative_to(root).as_posix()
            if rel != ".":
                yield rel, here
        dirnames[:] = sorted(d for d in dirnames if d not in _SUBDIRS)
