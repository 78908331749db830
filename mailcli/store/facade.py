"""The Store facade: Maildirs + SQLite index + journal behind one object.

Owns the rules that keep the Maildir files and the index rows in step (which is written
first, what a crash in between leaves, how the two are reconciled). See the package
docstring (:mod:`mailcli.store`) for the API overview.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailcli import killpoint
from mailcli.errors import MailcliError, NotFoundError
from mailcli.model import Contact, Envelope, Flag, FolderSummary
from mailcli.store import fts, index, landing, reconcile, state
from mailcli.store import maildir as md_mod
from mailcli.store.db import Database
from mailcli.store.index import MessageRow
from mailcli.store.journal import Journal
from mailcli.store.ledger import PopLedger
from mailcli.store.maildir import Maildir, encode_component, folder_to_relpath
from mailcli.store.reconcile import ExternalChanges, _base_of
from mailcli.store.state import FolderState

if TYPE_CHECKING:
    import sqlite3

    from mailcli.message.parse import ParsedMessage
    from mailcli.store.contacts import Addresses

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Staged:
    """A message written by Store.stage() whose row is not written yet: `path` is its
    file until the batch ends (readable by a parse worker), `rel` its final name."""

    account: str
    folder: str
    md: Maildir
    rel: str
    path: str
    size: int
    flags: frozenset[Flag]
    uid: int | None
    uidl: str | None = None
    announced: int | None = None     # POP3: the size the server announced (ledger)
    sha256: str | None = None        # POP3: the digest the ledger records


SEARCH_WINDOW = 5000  # newest messages tried first for a page of search results
ORPHANS = "orphans"   # local-only folder for files kept from a folder the server removed


def safe_parse(raw: bytes) -> ParsedMessage:
    """parse_for_index (the index's fields only, large attachments skipped) that never
    raises (a broken parser must not lose a message). The parser (and the email package)
    is imported on first use: a sync with nothing to download never needs it."""
    from mailcli.message.parse import ParsedMessage, parse_for_index
    try:
        return parse_for_index(raw)
    except Exception:  # noqa: BLE001 - the bytes are stored regardless
        logger.warning("message could not be parsed; indexed with empty headers", exc_info=True)
        return ParsedMessage(message_id=None, date=None, from_="", to="", cc="", subject="",
                             in_reply_to=None, references=(), has_attachments=False)


class Store:
    """The local mail store at `data_dir` (``mail/`` Maildirs + ``index.sqlite3``)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.mail_root = self.data_dir / "mail"
        self.mail_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.db = Database(self.data_dir / "index.sqlite3")
        self.journal = Journal(self.db.conn, self.db.write)
        self.ledger = PopLedger(self.db.conn, self.db.write)   # POP3: the UIDLs seen
        self._tl = threading.local()
        self._maildirs: dict[tuple[str, str], Maildir] = {}
        self._kill = killpoint.hook()   # tests only (MAILCLI_TEST_KILL_AT="landed:n")

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close every thread's index connection."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes: one index transaction, each touched Maildir directory fsynced once.

        On exit: directory fsyncs, then COMMIT (files are durable before their rows).
        If the block raises, the transaction rolls back and files delivered inside it are
        removed again. Holds the index write lock: keep batches short (~100-500 messages).
        Files with a server UID are named in a landing record until COMMIT (maildir.batch),
        so a crash in between is told apart from another program's mail.
        """
        if getattr(self._tl, "delivered", None) is not None:
            yield
            return
        self._tl.delivered = []
        self._tl.sent_folders = {}   # (account, folder) -> is a Sent folder, for the contacts
        landed: list[str] = []
        try:
            with self.db.write():
                with md_mod.batch(landed):
                    yield
                if self._kill is not None and landed:
                    self._kill("landed")
        except BaseException:
            for md, rel in self._tl.delivered:
                md.remove(rel)
            raise
        finally:
            self._tl.delivered = self._tl.sent_folders = None
            landing.drop(landed)   # committed, or the files are gone again

    # -------------------------------------------------------------------- layout
    def maildir(self, account: str, folder: str) -> Maildir:
        """The Maildir of one folder (not created until something is delivered)."""
        md = self._maildirs.get((account, folder))
        if md is None:   # (cached: the encoding and the Path cost ~0.1 ms a delivery)
            md = Maildir(self.mail_root / encode_component(account) / folder_to_relpath(folder))
            self._maildirs[(account, folder)] = md
        return md

    def path(self, id: int) -> Path:
        """Absolute path of a message's file (NotFoundError if unknown or gone)."""
        r = index.row(self.db.conn(), id)
        md = self.maildir(r.account, r.folder)
        if (md.path / r.filename).exists():  # the common case takes no write lock
            return md.path / r.filename
        with self.db.write() as conn:
            r = index.row(conn, id)
            md = self.maildir(r.account, r.folder)
            return md.path / self._locate(conn, r, md)

    def _locate(self, conn: object, r: MessageRow, md: Maildir) -> str:
        """The row's current relative name; follows a rename by another client."""
        if (md.path / r.filename).exists():
            return r.filename
        base = _base_of(r.filename)
        for entry in md.entries():
            if entry.name.base == base:
                index.update_fields(conn, r.id, filename=entry.relname)  # type: ignore[arg-type]
                return entry.relname
        raise NotFoundError(f"message {r.id} is no longer in the Maildir",
                            hint="another program deleted it; `mailcli fetch` reconciles")

    # ------------------------------------------------------------------- writing
    def deliver(self, account: str, folder: str, raw: bytes, flags: Iterable[Flag] = frozenset(),
                uid: int | None = None, uidl: str | None = None, fsync: bool = True,
                partial: bool = False, size: int | None = None) -> int:
        """Store a message byte-for-byte and index it; returns its stable id.

        Idempotent for server messages: if (account, folder, uid) is already indexed, or
        `uidl` is already in the POP3 ledger, nothing is written and the recorded id is
        returned (for a UIDL that may be a message since deleted locally). With `uidl` the
        ledger row is written in the same transaction as the message row. With `uidl` and
        `size` (the size the POP3 server announced) the caller has decided that this is a
        server message not yet recorded: a UIDL already in the ledger does not stop it (a
        UIDL listed twice or reused); only the same bytes under the same UIDL are stored
        once (a second ledger row points at them). `synced_flags`
        is set to `flags` when `uid` is given (server and local agree), else NULL.
        Parsing never raises: unparseable mail is indexed with empty headers.
        """
        if uid is not None and getattr(self._tl, "delivered", None) is None:
            with self.batch():   # a file with a UID is named in a landing record (batch())
                return self.deliver(account, folder, raw, flags, uid, uidl, fsync, partial, size)
        raw = bytes(raw)
        flags = frozenset(flags)
        parsed = safe_parse(raw)
        md = self.maildir(account, folder)
        with self.db.write() as conn:
            if uid is not None:
                existing = index.id_by_uid(conn, account, folder, uid)
                if existing is not None:
                    return existing
            digest = None
            if uidl is not None and size is not None:
                digest = None if partial else hashlib.sha256(raw).hexdigest()
                same = None if digest is None else state.ledger_same_bytes(conn, account, uidl, digest)
                if same is not None:
                    state.ledger_record(conn, account, uidl, same, size=size, sha256=digest)
                    return same
            elif uidl is not None:
                known, mid = state.ledger_message(conn, account, uidl)
                if known and mid is not None:
                    return int(mid)
            rel = md.deliver(raw, flags, uid=uid, uidl=uidl, fsync=fsync)
            try:
                new_id = index.insert_message(
                    conn, account=account, folder=folder, filename=rel, parsed=parsed,
                    flags=flags, size=len(raw), uid=uid, uidl=uidl, partial=partial,
                    synced_flags=flags if uid is not None else None,
                    sent_folder=self._sent_folder(conn, account, folder))
                if uidl is not None and size is not None:
                    state.ledger_record(conn, account, uidl, new_id, size=size, sha256=digest)
                elif uidl is not None:
                    state.ledger_add(conn, account, uidl, new_id)
            except BaseException:
                md.discard(rel)   # inside a batch the file is still pending in tmp/
                raise
            delivered = getattr(self._tl, "delivered", None)
            if delivered is not None:
                delivered.append((md, rel))
        return new_id

    def stage(self, account: str, folder: str, raw: bytes, flags: Iterable[Flag] = frozenset(),
              uid: int | None = None, uidl: str | None = None,
              size: int | None = None) -> Staged | int:
        """The first half of deliver() for a server message, inside batch(): write the
        file (made durable and renamed into place when the batch ends, like deliver's)
        and return it as Staged; commit_staged() writes its row with the parse. In
        between, others may parse the file (``Staged.path``; mailcli.store.parsepool).
        Nothing is written and the recorded id is returned where deliver() would do so:
        `uid` already indexed, or (POP3, `uidl` with the announced `size`) the same bytes
        already stored under that UIDL (a ledger row is added for them, as deliver does).
        Every Staged must reach commit_staged() or discard() before the batch ends
        (a file without its row would look like another program's mail)."""
        if getattr(self._tl, "delivered", None) is None:
            raise RuntimeError("Store.stage() needs Store.batch()")
        if uidl is not None and size is None:
            raise ValueError("stage() with a uidl needs the announced size")
        flags = frozenset(flags)
        md = self.maildir(account, folder)
        digest = hashlib.sha256(raw).hexdigest() if uidl is not None else None
        with self.db.write() as conn:
            if uid is not None:
                existing = index.id_by_uid(conn, account, folder, uid)
                if existing is not None:
                    return existing
            if uidl is not None and digest is not None:
                same = state.ledger_same_bytes(conn, account, uidl, digest)
                if same is not None:
                    state.ledger_record(conn, account, uidl, same, size=size, sha256=digest)
                    return same
            rel = md.deliver(raw, flags, uid=uid, uidl=uidl)
            self._tl.delivered.append((md, rel))
        return Staged(account, folder, md, rel, md.pending_path(rel), len(raw), flags, uid,
                      uidl, size, digest)

    def _sent_folder(self, conn: sqlite3.Connection, account: str, folder: str) -> bool | None:
        """contacts.is_sent_folder, asked once per batch and folder instead of once per
        message (None outside a batch: contacts.note asks itself)."""
        memo = getattr(self._tl, "sent_folders", None)
        if memo is None:
            return None
        sent = memo.get((account, folder))
        if sent is None:
            from mailcli.store.contacts import is_sent_folder
            sent = memo[(account, folder)] = is_sent_folder(conn, account, folder)
        return bool(sent)

    def commit_staged(self, staged: Staged, parsed: ParsedMessage | None = None,
                      addresses: Addresses | None = None) -> int:
        """The second half: index a staged message with its parse (None: parse it here,
        from the file), and record its POP3 ledger row. Returns its id; on failure the
        file is discarded and the error raised. A UID indexed meanwhile, or the same
        bytes recorded meanwhile under the same UIDL (a server that sent it twice), keeps
        the first copy (as deliver() would)."""
        s = staged
        try:
            if parsed is None:
                with open(s.path, "rb") as f:
                    parsed = safe_parse(f.read())
            with self.db.write() as conn:
                if s.uid is not None:
                    existing = index.id_by_uid(conn, s.account, s.folder, s.uid)
                    if existing is not None:
                        s.md.discard(s.rel)
                        return existing
                if s.uidl is not None and s.sha256 is not None:
                    same = state.ledger_same_bytes(conn, s.account, s.uidl, s.sha256)
                    if same is not None:
                        s.md.discard(s.rel)
                        state.ledger_record(conn, s.account, s.uidl, same, size=s.announced,
                                            sha256=s.sha256)
                        return same
                new_id = index.insert_message(
                    conn, account=s.account, folder=s.folder, filename=s.rel, parsed=parsed,
                    flags=s.flags, size=s.size, uid=s.uid, uidl=s.uidl,
                    synced_flags=s.flags if s.uid is not None else None,
                    addresses=addresses, sent_folder=self._sent_folder(conn, s.account, s.folder))
                if s.uidl is not None:
                    state.ledger_record(conn, s.account, s.uidl, new_id, size=s.announced,
                                        sha256=s.sha256)
                return new_id
        except BaseException:
            self.discard(s)
            raise

    def discard(self, staged: Staged) -> None:
        """Drop a staged message (its file never reaches new/ or cur/)."""
        staged.md.discard(staged.rel)

    def replace_raw(self, id: int, raw: bytes, partial: bool = False,
                    fsync: bool = True) -> None:
        """Replace a message's bytes (e.g. the full body after a headers-only download);
        the id, uid, uidl and flags stay. Not inside batch(): the old file goes only
        once the new one is in place and indexed."""
        if getattr(self._tl, "delivered", None) is not None:
            raise RuntimeError("Store.replace_raw() inside Store.batch()")
        raw = bytes(raw)
        parsed = safe_parse(raw)
        with self.batch(), self.db.write() as conn:   # (batch: the landing record of a UID)
            r = index.row(conn, id)
            md = self.maildir(r.account, r.folder)
            old = self._locate(conn, r, md)
            rel = md.deliver(raw, r.flags, uid=r.uid, uidl=r.uidl, fsync=fsync)
            index.replace_content(conn, id, rel, parsed, len(raw), partial, self._words(md, old))
        md.remove(old)

    def set_flags(self, id: int, flags: Iterable[Flag]) -> None:
        """Set a message's local flags (renames the file; index and file stay in step)."""
        flags = frozenset(flags)
        with self.db.write() as conn:
            r = index.row(conn, id)
            md = self.maildir(r.account, r.folder)
            rel = self._locate(conn, r, md)
            new_rel = md.set_flags(rel, flags)
            index.update_file(conn, id, new_rel, flags)

    def index_body(self, id: int, text: str) -> None:
        """Add text to a message's searchable body (decrypted text, index_decrypted only)."""
        with self.db.write() as conn:
            r = index.row(conn, id)
            md = self.maildir(r.account, r.folder)

            def now() -> fts.Values | None:
                try:
                    return self._words(md, self._locate(conn, r, md))
                except NotFoundError:
                    return None
            index.add_body_text(conn, id, text, now)

    def set_synced_flags(self, id: int, flags: Iterable[Flag] | None) -> None:
        """Record the flags both sides agreed on at the last sync (None: never synced)."""
        with self.db.write() as conn:
            index.row(conn, id)
            index.update_fields(conn, id, synced_flags=None if flags is None
                                else frozenset(flags))

    def set_uid(self, id: int, uid: int | None) -> None:
        """Give a message its server UID (after APPEND/MOVE with UIDPLUS), or clear it."""
        with self.db.write() as conn:
            r = index.row(conn, id)
            md = self.maildir(r.account, r.folder)
            rel = self._locate(conn, r, md)
            base = md_mod.strip_sync_ids(_base_of(rel))
            if uid is not None:
                base += f",U={uid}"
            if r.uidl is not None:
                base += f",P={md_mod._escape_uidl(r.uidl)}"
            new_rel = md.rename(rel, base)
            index.update_fields(conn, id, uid=uid, filename=new_rel)

    def move(self, id: int, folder: str) -> None:
        """Move a message to another folder of the same account, keeping its id. Its UID
        is cleared and synced_flags set to NULL (the server copy is a new message)."""
        with self.db.write() as conn:
            r = index.row(conn, id)
            src = self.maildir(r.account, r.folder)
            dst = self.maildir(r.account, folder)
            rel = self._locate(conn, r, src)
            new_rel = src.rename(rel, md_mod.strip_sync_ids(_base_of(rel)), dest=dst)
            index.update_fields(conn, id, folder=folder, uid=None, synced_flags=None,
                                filename=new_rel)

    def remove(self, id: int, read: tuple[str, fts.Values | None] | None = None) -> None:
        """Delete a message's file and its index row (the POP3 ledger keeps its UIDL).
        `read`: (file name, its words) read before (`remove_many`), used if still its name."""
        with self.db.write() as conn:
            r = index.row(conn, id)
            md = self.maildir(r.account, r.folder)
            now = None
            with contextlib.suppress(NotFoundError):
                rel = self._locate(conn, r, md)
                now = self._words_at(md, rel, read)
                md.remove(rel)
            index.delete_message(conn, id, now)

    def remove_many(self, rows: Sequence[MessageRow], chunk: int = 500) -> dict[int, Exception]:
        """remove() each message, one batch per `chunk`; returns the ids that failed, with
        why. Their files are parsed for their words (mailcli.store.fts) before the write
        lock is taken: ~0.5 ms a message would hold it for seconds on a mass expunge (and
        a chunk's words at a time, not a whole expunge's, are held in memory)."""
        failed: dict[int, Exception] = {}
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            read = {r.id: (r.filename, self._words(self.maildir(r.account, r.folder), r.filename))
                    for r in part}
            with self.batch():
                for r in part:
                    try:
                        self.remove(r.id, read[r.id])
                    except (MailcliError, OSError) as exc:
                        failed[r.id] = exc
        return failed

    def _words_at(self, md: Maildir, rel: str,
                  read: tuple[str, fts.Values | None] | None) -> fts.Values | None:
        """The words of file `rel`: those `read` before the write lock was taken (file
        name, words) if the file still has that name and was readable then, else read now
        (another client renamed it meanwhile, or the first read failed)."""
        if read is not None and read[0] == rel and read[1] is not None:
            return read[1]
        return self._words(md, rel)

    @staticmethod
    def _words(md: Maildir, rel: str) -> fts.Values | None:
        """What the index holds for the message in file `rel` (read and parsed again: the
        full-text index has no copy of it, see mailcli.store.fts); None if unreadable."""
        try:
            raw = md.read(rel)
        except OSError:
            return None
        return fts.values(safe_parse(raw))

    # ------------------------------------------------------------------- reading
    def read_raw(self, id: int) -> bytes:
        """The message exactly as received."""
        return self.path(id).read_bytes()

    def get(self, id: int) -> Envelope:
        """One envelope (NotFoundError if there is no such id)."""
        return index.get(self.db.conn(), id)

    def by_uid(self, account: str, folder: str, uid: int) -> Envelope:
        """The envelope of ACCOUNT:FOLDER:UID (NotFoundError if not cached)."""
        found = index.id_by_uid(self.db.conn(), account, folder, uid)
        if found is None:
            raise NotFoundError(f"no cached message {account}:{folder}:{uid}")
        return self.get(found)

    def ids_between(self, first: int, last: int) -> list[int]:
        """The cached message ids from `first` to `last` (inclusive), ascending."""
        return [r[0] for r in self.db.conn().execute(
            "SELECT id FROM messages WHERE id BETWEEN ? AND ? ORDER BY id", (first, last))]

    def search_count(self, query: str) -> int:
        """How many cached messages match `query` (for "50 of 4,561")."""
        from mailcli.store import search as search_mod  # only a search needs the parser

        where, params = search_mod.to_sql(query)
        row = self.db.conn().execute(f"SELECT count(*) FROM messages m WHERE {where}",
                                     params).fetchone()
        return int(row[0])

    def id_by_uid(self, account: str, folder: str, uid: int) -> int | None:
        return index.id_by_uid(self.db.conn(), account, folder, uid)

    def message_row(self, id: int) -> MessageRow:
        """Storage/sync view of one message (uid, uidl, filename, flags, synced_flags)."""
        return index.row(self.db.conn(), id)

    def message_rows(self, account: str, folder: str) -> list[MessageRow]:
        """Storage/sync view of every message of a folder (for the sync planner)."""
        return index.folder_rows(self.db.conn(), account, folder)

    def message_rows_for(self, account: str, folder: str,
                         uids: Iterable[int]) -> tuple[list[MessageRow], int]:
        """What an incremental sync plans with: the rows of `uids` and those with local
        flag changes, and how many cached messages of the folder have a UID (see
        index.folder_rows_for); reading every row cost ~35 ms per 10,000 messages."""
        return index.folder_rows_for(self.db.conn(), account, folder, uids)

    def has_unsynced_flags(self, account: str, folder: str) -> bool:
        """Whether a cached server message of the folder has local flag changes to push
        (one query; the sync's no-change check reads no rows)."""
        return index.has_unsynced_flags(self.db.conn(), account, folder)

    def list_envelopes(self, account: str | None = None, folder: str | None = None,
                       unread_only: bool = False, limit: int = 50, offset: int = 0,
                       order: str = "date desc") -> list[Envelope]:
        """One page of envelopes (order: "date desc"|"date asc"|"id desc"|"id asc")."""
        return index.list_envelopes(self.db.conn(), account, folder, unread_only, limit,
                                    offset, order)

    def count(self, account: str | None = None, folder: str | None = None,
              unread_only: bool = False) -> int:
        return index.count(self.db.conn(), account, folder, unread_only)

    def contacts(self) -> list[Contact]:
        """The address book of the cached mail (unranked; see mailcli.store.contacts)."""
        from mailcli.store import contacts

        return contacts.all_contacts(self.db.conn())

    def folder_summaries(self, account: str | None = None) -> list[FolderSummary]:
        """Every known folder with total/unread counts (INBOX first per account)."""
        return index.folder_summaries(self.db.conn(), account)

    def search(self, query: str, limit: int = 50, offset: int = 0, account: str | None = None,
               folder: str | None = None, order: str = "date desc") -> list[Envelope]:
        """Envelopes matching the SPEC.md search language (UsageError with a column if bad)."""
        from mailcli.store import search as search_mod

        where, qparams = search_mod.to_sql(query)
        scope: list[str] = []
        scope_params: list[object] = []
        if account is not None:
            scope.append("m.account = ?")
            scope_params.append(account)
        if folder is not None:
            scope.append("m.folder = ?")
            scope_params.append(folder)
        order_sql = index.order_clause(order)
        conn = self.db.conn()
        # 1. A query matching many messages (a common word) is answered from the newest
        #    SEARCH_WINDOW messages alone when they hold the whole page: with (date, id) a
        #    total order, the top matches of the window are then the top matches overall.
        if offset + limit <= SEARCH_WINDOW:
            inner = "SELECT * FROM messages m"
            if scope:
                inner += " WHERE " + " AND ".join(scope)
            sql = (f"SELECT m.id FROM ({inner} ORDER BY {order_sql} LIMIT {SEARCH_WINDOW}) m"
                   f" WHERE {where} ORDER BY {order_sql} LIMIT ? OFFSET ?")
            ids = [r[0] for r in conn.execute(sql, (*scope_params, *qparams, limit + offset, 0))]
            if len(ids) == limit + offset:
                return index.envelopes_by_ids(conn, ids[offset:])
        # 2. Otherwise sort only (id, date) of every match, then read the page's envelopes
        #    (sorting whole rows of many matches costs several times more).
        sql = (f"SELECT m.id FROM messages m WHERE {' AND '.join([where, *scope])}"
               f" ORDER BY {order_sql} LIMIT ? OFFSET ?")
        ids = [r[0] for r in conn.execute(sql, (*qparams, *scope_params, limit, offset))]
        return index.envelopes_by_ids(conn, ids)

    # ---------------------------------------------------------------- sync state
    def folder_state(self, account: str, folder: str) -> FolderState | None:
        return state.get_folder(self.db.conn(), account, folder)

    def folder_states(self, account: str | None = None) -> list[FolderState]:
        return state.list_folders(self.db.conn(), account)

    def put_folder_state(self, folder_state: FolderState) -> None:
        """Record a folder's sync state; every known folder has a Maildir, even an empty
        one (so mutt/neomutt can open an empty Sent or Trash)."""
        with self.db.write() as conn:
            state.put_folder(conn, folder_state)
        md = self.maildir(folder_state.account, folder_state.name)
        if not md.path.exists():
            md.create()

    def keep_unknown(self, account: str, folder: str, keep_in: str = ORPHANS) -> list[int]:
        """Index the files in the folder's cur/ and new/ that the index has never seen and
        move them to the local folder `keep_in`; returns their ids."""
        if not self.maildir(account, folder).exists():
            return []
        kept = reconcile.adopt_unknown(self, account, folder)
        for mid in kept:
            self.move(mid, keep_in)
        return kept

    def delete_folder(self, account: str, folder: str, keep_in: str = ORPHANS) -> list[int]:
        """Forget a folder: its messages' rows and files, its state (not its subfolders).

        A file in cur/ or new/ the index has never seen (saved there by neomutt or
        notmuch) is never deleted: it is indexed and moved to the local folder `keep_in`
        (default "orphans", never synced); returns the ids of the messages kept that way.
        tmp/ leftovers (crashed deliveries, never complete messages) are removed, and so
        are its directory and the parents that became empty.
        """
        md = self.maildir(account, folder)
        kept = self.keep_unknown(account, folder, keep_in)
        # as a mass expunge (remove_many: words read outside the write lock, a chunk at a
        # time); the folder's state goes only once every message has
        failed = self.remove_many(index.folder_rows(self.db.conn(), account, folder))
        if failed:
            raise next(iter(failed.values()))
        with self.db.write() as conn:
            state.delete_folder(conn, account, folder)
        md.remove_empty(up_to=self.mail_root / encode_component(account))
        return kept

    # ------------------------------------------------------------ housekeeping
    def clean_tmp(self, account: str, max_age: float = md_mod.TMP_MAX_AGE) -> int:
        """Remove, in each of the account's folders, the tmp/ files older than `max_age`
        seconds (deliveries that crashed before their rename; 36 h, as Maildir readers
        expect, so no delivery in progress is touched). Returns how many."""
        folders = ({s.folder for s in self.folder_summaries(account)}
                   | {s.name for s in self.folder_states(account)})
        return sum(self.maildir(account, f).clean_tmp(max_age) for f in sorted(folders))

    # ----------------------------------------------------------- reconciliation
    def scan_external_changes(self, account: str, folder: str) -> ExternalChanges:
        """Reconcile the index with the Maildir after another client (neomutt, notmuch)
        changed it; see :func:`mailcli.store.reconcile.scan_external_changes`."""
        return reconcile.scan_external_changes(self, account, folder)
