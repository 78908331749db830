"""The outbox: outgoing messages, their write-ahead send state, and the flush that sends
them exactly once.

Owns the ``outbox`` table (migration m002) and the local Maildir folder ``Outbox`` of each
account. A message to send is first *queued*: its bytes are delivered into
``<account>/Outbox`` and a row keyed by (account, Message-ID) records its envelope
(MAIL FROM, every recipient including Bcc) in the same transaction. Then
:func:`flush_item` moves it through these states, each committed before the next step::

    queued --(record)--> sending --SMTP ok--> sent --APPEND Sent copy--> appended --> done
       ^                    |                   |\\--the server filed it: its copy adopted -^
       |                    |                   \\--APPEND failed: local copy + journal
       |                    |                      "append" (retried later) ----------> done
       +--TemporaryError----+                                   done: Outbox copy removed
                            +--refused/auth/TLS--> failed (kept; `mailcli send` retries)
                            +--killed mid-SMTP---> (still "sending" on the next run) -> uncertain

Never twice:
- A row in ``sent``/``appended``/``done`` is never handed to SMTP again: a re-run only
  finishes the Sent copy (``sent``: a copy with its Message-ID already in Sent is
  adopted, else it is APPENDed; ``appended``: the server copy exists, only the local
  cache copy is made).
- A row found in ``sending`` by the next run (the flush holds a per-account send lock,
  so its owner is dead: killed or crashed *during* the SMTP exchange) is **not re-sent**:
  it becomes ``uncertain``, its Outbox copy is flagged, and every ``mailcli send`` warns
  about it until the user decides (``mailcli send --resend-uncertain`` sends it again,
  ``mailcli delete ID`` drops it). Why not re-send, as MTAs do? The one moment that makes
  the outcome unknowable is the server's final "250" after DATA being received but not
  yet recorded; a re-send then is a duplicate the user cannot take back, while holding
  the message loses nothing: it stays in the Outbox, visible, one command from going
  out. A mail client's promise is "never twice, never silently lost"; holding with a
  loud warning keeps both halves, re-sending would break the first.
- A TemporaryError from SMTP (unreachable, 4xx, a connection cut before the message
  was fully transmitted) means "not accepted": the message goes back to ``queued`` and
  every ``mailcli send``/``mailcli fetch`` retries it. A connection lost after the final
  "." (SendUncertain) is the same ambiguity as a kill mid-SMTP: ``uncertain``, held.

Every row has a file twin (:mod:`mailcli.send.records`, written after each committed
state change, removed when the row is finished), so losing ``index.sqlite3`` loses no
queued mail and no safety state: :mod:`mailcli.send.restore` rebuilds the rows from the
records (``mailcli index rebuild``, and every flush when the index was replaced).

A server that files submitted mail into Sent itself gets no APPEND (see
:mod:`mailcli.send.sentcheck`): its own copy is adopted (``sent_copy`` "server", its UID
recorded as ``appended`` with the server's bytes cached), or, not found yet, left to
the next fetch. A row in ``sent`` resumed after a crash never *finds out* that a server
does this (its own interrupted APPEND could be what the search finds), but it adopts a
copy with its Message-ID already in Sent instead of appending a second one.

A failed APPEND after a successful send is not a failed send: the copy is delivered into
the local Sent folder without a UID and a journal ``append`` action (payload ``folder``,
``id``, ``message_id``, ``sent_copy``) queues the upload; the sync engine (or the next
``mailcli send``, see :mod:`mailcli.send.sent`) replays it.
"""
from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mailcli.errors import MailcliError, NotFoundError, TemporaryError
from mailcli.model import Flag
from mailcli.send import records
from mailcli.send.outbox_state import (  # the row states, beside the cheap questions of a fetch
    APPENDED,
    CANCELLED,
    DONE,
    FAILED,
    OPEN_STATES,
    QUEUED,
    SENDING,
    SENT,
    UNCERTAIN,
)
from mailcli.store import Store

logger = logging.getLogger(__name__)

OUTBOX_FOLDER = "Outbox"


_COLS = ("id, account, message_id, message, mail_from, recipients, bcc, replied, state, "
         "attempts, last_error, refused, sent_copy, sent_folder, sent_uid, sent_message, "
         "created_at, updated_at")


@dataclass(frozen=True)
class OutboxItem:
    """One outgoing message. `message` is the store id of its Outbox copy (None once
    removed); `recipients` are the SMTP RCPT TO addresses (To, Cc and Bcc)."""

    row: int
    account: str
    message_id: str
    message: int | None
    mail_from: str
    recipients: tuple[str, ...]
    bcc: tuple[str, ...]
    replied: int | None
    state: str
    attempts: int
    last_error: str | None
    refused: dict[str, str]
    sent_copy: str | None
    sent_folder: str | None
    sent_uid: int | None
    sent_message: int | None
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, object]:
        return {"account": self.account, "id": self.message, "message_id": self.message_id,
                "state": self.state, "recipients": list(self.recipients),
                "attempts": self.attempts, "error": self.last_error,
                "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass
class SendResult:
    """The outcome of sending (or trying to send) one message.

    status: ``sent`` (accepted by the SMTP server; `refused` names recipients it
    refused while accepting others), ``queued`` (temporary failure: waits in the
    Outbox), ``failed`` (permanent: kept in the Outbox, `error` says why),
    ``uncertain`` (interrupted mid-SMTP by an earlier run: held, see module doc).
    sent_copy: ``appended`` (on the server's Sent folder), ``local`` (POP3: local Sent),
    ``queued`` (APPEND failed: journaled for retry), ``pending`` (server copy made, the
    cache gets it at the next fetch), ``server`` (the server filed it into Sent itself:
    nothing appended) or None.
    notice: a one-line report shown once (e.g. the server was found to file sent mail
    itself), else None.
    """

    account: str
    message_id: str
    status: str
    recipients: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    hint: str | None = None
    exit_code: int = 0
    outbox_id: int | None = None
    sent_copy: str | None = None
    sent_folder: str | None = None
    sent_id: int | None = None
    subject: str = ""
    notice: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "sent"

    def to_json(self) -> dict[str, object]:
        return {"account": self.account, "message_id": self.message_id, "status": self.status,
                "ok": self.ok, "subject": self.subject, "recipients": self.recipients,
                "refused": self.refused, "error": self.error, "outbox_id": self.outbox_id,
                "sent_copy": self.sent_copy, "sent_folder": self.sent_folder,
                "sent_id": self.sent_id, "notice": self.notice}


def _item(r: tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])),
                      tuple(json.loads(r[6])), r[7], r[8], r[9], r[10], json.loads(r[11] or "{}"),
                      r[12], r[13], r[14], r[15], r[16], r[17])


class Outbox:
    """The outbox rows of every account in one store (no network here)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ rows
    def enqueue(self, account: str, raw: bytes, message_id: str, mail_from: str,
                recipients: Sequence[str], bcc: Sequence[str] = (),
                replied: int | None = None) -> OutboxItem:
        """Put a message into the account's Outbox folder and record it (one transaction:
        both or neither). Returns the queued item."""
        now = time.time()
        written = False
        with records.lock(self.store):  # record and row appear together for a restore
            try:
                with self.store.batch():
                    mid = self.store.deliver(account, OUTBOX_FOLDER, raw, flags={Flag.SEEN})
                    with self.store.db.write() as conn:
                        cur = conn.execute(
                            "INSERT INTO outbox (account, message_id, message, mail_from,"
                            " recipients, bcc, replied, state, created_at, updated_at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (account, message_id, mid, mail_from, json.dumps(list(recipients)),
                             json.dumps(list(bcc)), replied, QUEUED, now, now))
                        row = int(cur.lastrowid or 0)
                        self.sync_record(self.get(row))  # before the commit: see records
                        written = True
            except BaseException:
                if written:
                    records.remove(self.store, account, message_id)
                raise
        logger.info("queued %s for %s in %s/%s (id %d)", message_id, account, account,
                    OUTBOX_FOLDER, mid)
        return self.get(row)

    def find(self, account: str, message_id: str) -> OutboxItem | None:
        r = self.store.db.conn().execute(
            f"SELECT {_COLS} FROM outbox WHERE account = ? AND message_id = ?",
            (account, message_id)).fetchone()
        return None if r is None else _item(r)

    def get(self, row: int) -> OutboxItem:
        r = self.store.db.conn().execute(f"SELECT {_COLS} FROM outbox WHERE id = ?",
                                         (row,)).fetchone()
        if r is None:
            raise NotFoundError(f"no outbox entry {row}")
        return _item(r)

    def items(self, account: str | None = None, states: tuple[str, ...] = OPEN_STATES
              ) -> list[OutboxItem]:
        """Outbox rows in the given states, oldest first."""
        sql = f"SELECT {_COLS} FROM outbox WHERE state IN ({','.join('?' * len(states))})"
        params: list[object] = list(states)
        if account is not None:
            sql += " AND account = ?"
            params.append(account)
        return [_item(r) for r in self.store.db.conn().execute(sql + " ORDER BY id", params)]

    def update(self, row: int, **fields: object) -> None:
        """Set columns of a row (committed when this returns: the write-ahead record)."""
        fields["updated_at"] = time.time()
        for key in ("refused",):
            if key in fields and not isinstance(fields[key], str):
                fields[key] = json.dumps(fields[key])
        cols = ", ".join(f"{k} = ?" for k in fields)
        # Recording what the network just did (SMTP accepted, APPEND made) is committed
        # first, as fast as possible; every other change writes its record ahead of the
        # commit (see mailcli.send.records).
        behind = fields.get("state") in (SENT, APPENDED)
        try:
            with self.store.db.write() as conn:
                conn.execute(f"UPDATE outbox SET {cols} WHERE id = ?", (*fields.values(), row))
                if not behind:
                    self.sync_record(self.get(row))
            if behind:
                self.sync_record(self.get(row))
        except BaseException:
            with contextlib.suppress(Exception):
                self.sync_record(self.get(row))  # back to what the index holds
            raise

    def sync_record(self, item: OutboxItem) -> None:
        """Write the row's file record, or remove it once nothing is owed any more (done
        or cancelled, the Outbox copy removed, no Sent copy upload pending)."""
        store = self.store
        sent = records.stem_of(store, item.sent_message)
        owed_upload = (item.state == DONE and item.sent_copy == "queued" and sent is not None
                       and item.sent_message is not None
                       and store.message_row(item.sent_message).uid is None)
        if item.state in (DONE, CANCELLED) and item.message is None and not owed_upload:
            records.remove(store, item.account, item.message_id)
            return
        outbox_file = records.stem_of(store, item.message)
        replied = records.stem_of(store, item.replied)
        records.write(store, {
            "account": item.account, "message_id": item.message_id, "state": item.state,
            "mail_from": item.mail_from, "recipients": list(item.recipients),
            "bcc": list(item.bcc), "attempts": item.attempts, "last_error": item.last_error,
            "refused": item.refused, "sent_copy": item.sent_copy,
            "sent_folder": item.sent_folder, "sent_uid": item.sent_uid,
            "outbox_file": outbox_file[1] if outbox_file else None,
            "replied": list(replied) if replied else None,
            "sent_file": list(sent) if sent and owed_upload else None,
            "created_at": item.created_at})

    def raw(self, item: OutboxItem) -> bytes:
        if item.message is None:
            raise NotFoundError(f"the Outbox copy of {item.message_id} is gone")
        return self.store.read_raw(item.message)

    def finish(self, item: OutboxItem) -> None:
        """Drop the Outbox copy of a done message (idempotent)."""
        if item.message is not None:
            try:
                self.store.remove(item.message)
            except NotFoundError:
                pass
            self.update(item.row, message=None)


# ---------------------------------------------------------------------- the flush
Transport = Callable[[bytes, str, list[str]], dict[str, tuple[int, str]]]


@dataclass(frozen=True)
class ServerCopy:
    """A copy of the message already in the server's Sent folder (filed by the server
    itself, or left by an interrupted APPEND): its folder, its UID when found (None: the
    next fetch brings it), a notice to show once, and (only where the copy may be one
    mailcli appended) its size."""

    folder: str
    uid: int | None
    notice: str | None = None
    size: int | None = None


class SentCopier(Protocol):
    """Where Sent copies go (implemented by mailcli.send.sent.SentCopies)."""

    remote: bool  # True: APPEND to the server (IMAP); False: local Sent folder only (POP3)

    def server_copy(self, item: OutboxItem, detect: bool) -> ServerCopy | None:
        """The copy the server made itself when it files sent mail into Sent (None: APPEND
        one). `detect`: just submitted, so an unknown server may be found out now.
        Raises MailcliError when the server cannot be asked (an APPEND is queued then)."""
        ...

    def fetch_copy(self, folder: str, uid: int) -> bytes | None:
        """The server's bytes of message `uid` in `folder` (None when not readable now)."""
        ...

    def append(self, item: OutboxItem, raw: bytes) -> tuple[str, int | None]:
        """APPEND the copy to the server's Sent folder (\\Seen); (folder, APPENDUID or None).
        Raises MailcliError when it fails."""
        ...

    def keep_local(self, item: OutboxItem, raw: bytes, folder: str | None = None,
                   uid: int | None = None, queue: bool = False) -> tuple[str, int]:
        """Deliver the copy into the local Sent folder (with `uid` when the server copy is
        known: idempotent); `queue` also journals an "append" for the upload. Runs inside
        the caller's transaction. Returns (folder, store id)."""
        ...


def sent_copy_bytes(raw: bytes, bcc: tuple[str, ...]) -> bytes:
    """The Sent copy: the bytes as sent, plus a Bcc header naming the blind recipients
    (so the user's record shows them; they were never in the transmitted headers)."""
    if not bcc:
        return raw
    return b"Bcc: " + ", ".join(bcc).encode("utf-8") + b"\r\n" + raw


def flush_item(outbox: Outbox, item: OutboxItem, transport: Transport, copier: SentCopier,
               *, retry_failed: bool = False, resend_uncertain: bool = False,
               fresh: bool = False) -> SendResult:
    """Advance one message as far as it goes now (the caller holds the account's send
    lock). `fresh`: the item was queued by this very process (a "sending" state cannot
    be stale then, but it is never seen either)."""
    store = outbox.store
    res = SendResult(item.account, item.message_id, status="queued",
                     recipients=list(item.recipients), outbox_id=item.message,
                     refused=dict(item.refused), error=item.last_error)
    if item.message is not None and item.state in OPEN_STATES:
        try:
            store.get(item.message)
        except NotFoundError:
            if item.state in (QUEUED, FAILED, UNCERTAIN):
                # the user deleted it from the Outbox: nothing to send any more
                outbox.update(item.row, state=CANCELLED, message=None)
                res.status, res.error, res.exit_code = "cancelled", "removed from the Outbox", 0
                return res
    if item.message is not None:
        try:
            res.subject = store.get(item.message).subject
        except NotFoundError:
            pass
    state = item.state
    if state == SENDING and not fresh:
        _hold_uncertain(outbox, item, "interrupted during the SMTP exchange; it may have been delivered")
        state = UNCERTAIN
    if state == UNCERTAIN and not resend_uncertain:
        res.status, res.exit_code = "uncertain", 1
        res.error = (f"message {item.message_id} was interrupted while being sent and may "
                     "already have been delivered; not re-sending it automatically")
        res.hint = (f"check with a recipient or the Sent folder; `mailcli send --resend-uncertain` "
                    f"sends it again, `mailcli delete {item.message}` drops it")
        return res
    if state == FAILED and not retry_failed:
        res.status, res.exit_code = "failed", 1
        return res

    raw = b""
    just_sent = False
    if state in (QUEUED, FAILED, UNCERTAIN, SENT, APPENDED):
        try:
            raw = outbox.raw(item)
        except NotFoundError:
            if state in (QUEUED, FAILED, UNCERTAIN):
                outbox.update(item.row, state=CANCELLED, message=None)
                res.status, res.error = "cancelled", "removed from the Outbox"
                return res
            raw = b""  # sent already: the copy can no longer be made
    if state in (QUEUED, FAILED, UNCERTAIN):
        # smtplib (and the email package) only when something is sent: `fetch` flushes
        # the Outbox before every sync, usually finding nothing
        from mailcli.send.smtp import RecipientsRefused, SendUncertain

        outbox.update(item.row, state=SENDING, attempts=item.attempts + 1)
        try:
            refused = transport(raw, item.mail_from, list(item.recipients))
        except TemporaryError as exc:
            outbox.update(item.row, state=QUEUED, last_error=exc.message)
            res.status, res.error, res.hint, res.exit_code = "queued", exc.message, \
                "it waits in the Outbox; `mailcli send` or `mailcli fetch` retries it", 75
            return res
        except SendUncertain as exc:
            _hold_uncertain(outbox, item, exc.message)
            res.status, res.error, res.exit_code = "uncertain", exc.message, 1
            res.hint = (f"it may have been delivered; not re-sending it automatically: "
                        f"`mailcli send --resend-uncertain` sends it again, "
                        f"`mailcli delete {item.message}` drops it")
            return res
        except RecipientsRefused as exc:
            ref = {a: f"{c} {t}" for a, (c, t) in exc.refused.items()}
            outbox.update(item.row, state=FAILED, last_error=exc.message, refused=ref)
            res.status, res.error, res.refused, res.exit_code = "failed", exc.message, ref, 1
            return res
        except MailcliError as exc:
            outbox.update(item.row, state=FAILED, last_error=exc.message)
            res.status, res.error, res.hint = "failed", exc.message, exc.hint
            res.exit_code = int(exc.exit_code)
            return res
        ref = {a: f"{c} {t}" for a, (c, t) in refused.items()}
        outbox.update(item.row, state=SENT, refused=ref, last_error=None)
        res.refused = ref
        logger.info("sent %s (%d recipients, %d refused)", item.message_id,
                    len(item.recipients), len(ref))
        state = SENT
        just_sent = True
    res.status, res.error, res.exit_code = "sent", None, 0
    if res.refused:
        res.error = "some recipients were refused: " + "; ".join(
            f"{a} ({t})" for a, t in res.refused.items())
        res.exit_code = 1
    if item.replied is not None:
        _mark_answered(store, item.replied)
    copy = sent_copy_bytes(raw, item.bcc) if raw else b""
    if state == SENT:
        res.sent_copy, res.notice = _store_copy(outbox, item, copy, copier, just_sent)
        state = outbox.get(item.row).state
    if state == APPENDED:
        cur = outbox.get(item.row)
        local = None
        if cur.sent_copy == "server" and cur.sent_uid is not None and cur.sent_folder:
            # the server's own copy: cached as the server keeps it (not our bytes)
            copy = copier.fetch_copy(cur.sent_folder, cur.sent_uid) or b""
        if cur.sent_uid is not None and copy:
            _folder, local = copier.keep_local(cur, copy, folder=cur.sent_folder, uid=cur.sent_uid)
        outbox.update(item.row, state=DONE, sent_message=local)
    done = outbox.get(item.row)
    res.sent_copy, res.sent_folder, res.sent_id = done.sent_copy, done.sent_folder, done.sent_message
    if done.sent_copy == "queued":
        res.hint = f"the Sent copy could not be saved on the server ({done.last_error}); it is queued"
    outbox.finish(done)
    return res


def _hold_uncertain(outbox: Outbox, item: OutboxItem, why: str) -> None:
    """Mark a message whose delivery is unknown `uncertain` and flag its Outbox copy."""
    store = outbox.store
    outbox.update(item.row, state=UNCERTAIN, last_error=why)
    if item.message is not None:
        try:
            env = store.get(item.message)
            store.set_flags(item.message, env.flags | {Flag.FLAGGED})
        except NotFoundError:
            pass


def _store_copy(outbox: Outbox, item: OutboxItem, copy: bytes, copier: SentCopier,
                just_sent: bool = False) -> tuple[str, str | None]:
    """The Sent-copy step of a message recorded as sent; returns the sent_copy status and
    a notice to show once (or None)."""
    store = outbox.store
    if not copy:
        outbox.update(item.row, state=DONE, sent_copy="lost")
        return "lost", None
    if copier.remote:
        try:
            own = copier.server_copy(item, detect=just_sent)
            if own is not None:
                # a copy is there already: nothing appended (its UID recorded like an
                # APPENDUID). Our own bytes (an interrupted APPEND's copy) are cached as
                # they are; another size is the server's own copy, fetched for the cache
                status = "appended" if own.size == len(copy) else "server"
                outbox.update(item.row, state=APPENDED if own.uid is not None else DONE,
                              sent_copy=status, sent_folder=own.folder, sent_uid=own.uid)
                return status, own.notice
            folder, uid = copier.append(item, copy)
        except MailcliError as exc:
            logger.warning("Sent copy of %s not saved on the server (%s); queued for retry",
                           item.message_id, exc.message)
            with store.batch():
                folder, local = copier.keep_local(item, copy, queue=True)
                outbox.update(item.row, state=DONE, sent_copy="queued", sent_folder=folder,
                              sent_message=local, last_error=f"Sent copy: {exc.message}")
            return "queued", None
        status = "appended" if uid is not None else "pending"
        outbox.update(item.row, state=APPENDED, sent_copy=status, sent_folder=folder,
                      sent_uid=uid)
        return status, None
    with store.batch():
        folder, local = copier.keep_local(item, copy)
        outbox.update(item.row, state=DONE, sent_copy="local", sent_folder=folder,
                      sent_message=local)
    return "local", None


def _mark_answered(store: Store, id: int) -> None:
    try:
        env = store.get(id)
    except NotFoundError:
        return
    if Flag.ANSWERED not in env.flags:
        store.set_flags(id, env.flags | {Flag.ANSWERED})
