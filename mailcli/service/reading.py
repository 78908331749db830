"""Reading the local cache (no network): message references, folders, list, count, search,
show (which marks the message seen locally; the next fetch pushes it), raw bytes,
attachments, and the index rebuild.

Everything here works offline from mailcli.store; message text goes through
mailcli.message (render_text, list_attachments, save_attachments), which returns
terminal-safe strings for display.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mailcli.errors import NotFoundError, UsageError
from mailcli.model import AttachmentInfo, Envelope, Flag, FolderSummary

if TYPE_CHECKING:
    from mailcli.message.pgp import Examined, PgpStatus
    from mailcli.service.core import ServiceCore
    from mailcli.store import RebuildReport

logger = logging.getLogger(__name__)

_INT_REF = re.compile(r"^\d+$")
_RANGE = re.compile(r"^(\d+)-(\d+)$")


@dataclass(frozen=True)
class ShownMessage:
    """A message prepared for reading: `text` and `headers` are terminal-safe; `html` is
    the decoded HTML source (unsanitized here; `to_json` neutralizes it); `partial` means only
    the headers are cached (POP3 over max_message_size)."""

    envelope: Envelope
    text: str
    html: str | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[AttachmentInfo] = field(default_factory=list)
    partial: bool = False
    pgp: PgpStatus | None = None      # PGP/MIME: signature verdict, decrypted (None: none)

    def pgp_lines(self) -> list[str]:
        """``Signature: ...`` / ``Decrypted`` lines for the reader (terminal-safe)."""
        return self.pgp.lines() if self.pgp is not None else []

    def to_json(self) -> dict[str, object]:
        """SPEC.md `show --json`: the envelope plus text, html, attachments, headers,
        and "pgp" (null, or the object of mailcli.message.pgp.PgpStatus.to_json)."""
        from mailcli.message.sanitize import safe_text

        doc = self.envelope.to_json()
        doc.update({
            "text": self.text,
            # `jq -r .html` prints to a terminal: escape sequences are neutralized here too
            "html": safe_text(self.html) if self.html is not None else None,
            "attachments": [{"filename": a.filename, "content_type": a.content_type,
                             "size": a.size} for a in self.attachments],
            "headers": [{"name": n, "value": v} for n, v in self.headers],
            "partial": self.partial,
            "pgp": self.pgp.to_json() if self.pgp is not None else None,
        })
        return doc


class Reading:
    """Offline reads over the store."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    # ------------------------------------------------------------------ references
    def resolve(self, ref: str | int) -> Envelope:
        """The cached message a reference names.

        Args:
            ref: the integer id shown by `list`/`search`, or ``ACCOUNT:FOLDER:UID`` (the
                folder may itself contain ':'; for POP3 the UID is the server's UIDL).
        Raises:
            NotFoundError: no such message (exit 4). UsageError: not a reference (exit 2).
        """
        if isinstance(ref, int):
            return self.core.store.get(ref)
        text = ref.strip()
        if _INT_REF.match(text):
            return self.core.store.get(int(text))
        account, sep, rest = text.partition(":")
        folder, sep2, uid = rest.rpartition(":")
        if not (sep and sep2 and account and folder and uid):
            raise UsageError(f"bad message reference {ref!r}",
                             hint="use the id shown by `mailcli list`, or ACCOUNT:FOLDER:UID")
        self.core.account_config(account)  # unknown account -> NotFoundError naming the accounts
        if uid.isdigit():
            found = self.core.store.id_by_uid(account, folder, int(uid))
            if found is not None:
                return self.core.store.get(found)
        entry = self.core.store.ledger.entries(account).get(uid)
        if entry is not None and entry.message is not None and entry.local_present:
            env = self.core.store.get(entry.message)
            if env.folder == folder:
                return env
        raise NotFoundError(f"no cached message {account}:{folder}:{uid}",
                            hint="run `mailcli fetch` first, or see `mailcli list`")

    def resolve_many(self, refs: list[str]) -> list[Envelope]:
        """Resolve every reference before anything is changed (all or nothing)."""
        if not refs:
            raise UsageError("no message given", hint="pass one or more ids from `mailcli list`")
        seen: dict[int, Envelope] = {}
        for ref in refs:
            span = _RANGE.match(ref.strip()) if isinstance(ref, str) else None
            if span is None:
                env = self.resolve(ref)
                seen.setdefault(env.id, env)
                continue
            first, last = int(span.group(1)), int(span.group(2))
            if first > last:
                raise UsageError(f"bad id range {ref!r}: {first} is after {last}",
                                 hint=f"write it as {last}-{first}")
            ids = self.core.store.ids_between(first, last)   # gaps: deleted or moved away
            if not ids:
                raise NotFoundError(f"no cached message with an id in {first}-{last}",
                                    hint="see `mailcli list` for the ids")
            for id in ids:
                seen.setdefault(id, self.core.store.get(id))
        return list(seen.values())

    # --------------------------------------------------------------------- folders
    def folders(self, account: str | None = None) -> list[FolderSummary]:
        """Every cached folder with total and unread counts (INBOX first per account)."""
        if account is not None:
            self.core.account_config(account)
        return self.core.store.folder_summaries(account)

    def _check_folder(self, account: str | None, folder: str | None) -> None:
        if folder is None:
            return
        if not any(s.folder == folder for s in self.core.store.folder_summaries(account)):
            where = f" in account {account!r}" if account else ""
            raise NotFoundError(f"no folder {folder!r}{where}",
                                hint="see `mailcli folders` for the cached folders")

    # ----------------------------------------------------------------- envelopes
    def list_envelopes(self, account: str | None = None, folder: str | None = None,
                       unread: bool = False, limit: int = 50, offset: int = 0,
                       order: str = "date desc") -> list[Envelope]:
        """One page of envelopes in `order` ("date desc" (newest first), "date asc",
        "id desc" or "id asc"), reading only the rows asked for.

        Raises:
            NotFoundError: unknown account or folder. UsageError: negative limit/offset.
            A `limit` of 0 means no limit.
        """
        if limit < 0 or offset < 0:
            raise UsageError("limit and offset must not be negative")
        if account is not None:
            self.core.account_config(account)
        page = self.core.store.list_envelopes(account, folder, unread_only=unread,
                                              limit=limit or -1,
                                         offset=offset, order=order)
        if not page:  # only an empty page pays for the (whole-index) folder check
            self._check_folder(account, folder)
        return page

    def count(self, account: str | None = None, folder: str | None = None,
              unread: bool = False) -> int:
        """How many cached messages match (for paging and the TUI's scroll bar)."""
        if account is not None:
            self.core.account_config(account)
        return self.core.store.count(account, folder, unread_only=unread)

    def search(self, query: str, limit: int = 50, offset: int = 0) -> list[Envelope]:
        """Envelopes matching the SPEC.md search language, newest first.

        Raises:
            UsageError: a malformed query, naming the column of the problem.
        """
        if limit < 0 or offset < 0:
            raise UsageError("limit and offset must not be negative")
        return self.core.store.search(query, limit=limit or -1, offset=offset)

    def search_count(self, query: str) -> int:
        """How many cached messages `query` matches."""
        return self.core.store.search_count(query)

    # --------------------------------------------------------------------- reading
    def raw(self, ref: str | int) -> bytes:
        """The message exactly as the server sent it."""
        return self.core.store.read_raw(self.resolve(ref).id)

    def show(self, ref: str | int, mark_seen: bool = True, *, prefer_html: bool = False,
             all_headers: bool = False) -> ShownMessage:
        """Render a message for reading and (by default) mark it seen locally.

        The seen flag is a local flag change like any other: the next fetch pushes it.
        Args:
            prefer_html: render the HTML part (to text) even when a text part exists.
            all_headers: every header field, not just Date/From/To/Cc/Reply-To/Subject.
        """
        from mailcli.message.render import headers_for_display, render_text

        env = self.resolve(ref)
        raw = self.core.store.read_raw(env.id)
        # headers only (POP3 over max_message_size): nothing to verify or decrypt yet
        seen = self.readable(raw) if not env.partial else self._unexamined(raw)
        rendered = render_text(seen.display, prefer_html=prefer_html)
        headers = headers_for_display(raw, all_headers=True) if all_headers else rendered.headers
        if seen.decrypted:
            self._index_decrypted(env.id, seen.display)
        if mark_seen and not self.core.store.db.read_only:  # a read-only cache is shown as it is
            env = self.mark_seen(env.id)
        return ShownMessage(envelope=env, text=rendered.text, html=rendered.html,
                            headers=headers, attachments=list(rendered.attachments),
                            partial=env.partial, pgp=seen.status)

    def readable(self, raw: bytes) -> Examined:
        """The message as a reader sees it: PGP/MIME signatures verified and an encrypted
        message decrypted (in memory only; see mailcli.message.pgp)."""
        from mailcli.message import pgp

        if not pgp.has_pgp(raw):
            return pgp.Examined(None, raw)
        return pgp.examine(raw, self.core.gnupg())

    @staticmethod
    def _unexamined(raw: bytes) -> Examined:
        from mailcli.message import pgp

        return pgp.Examined(None, raw)

    def _index_decrypted(self, id: int, display: bytes) -> None:
        """With `index_decrypted = true` only: the decrypted text becomes searchable.
        Otherwise nothing of it is written anywhere (SPEC.md)."""
        if not self.core.config.general.index_decrypted or self.core.store.db.read_only:
            return
        from mailcli.message.parse import parse_message

        self.core.store.index_body(id, parse_message(display).body_text)

    def mark_seen(self, ref: str | int) -> Envelope:
        """Set the seen flag locally (pushed at the next fetch); returns the envelope."""
        env = self.resolve(ref)
        if Flag.SEEN in env.flags:
            return env
        self.core.store.set_flags(env.id, env.flags | {Flag.SEEN})
        return self.core.store.get(env.id)

    def attachments(self, ref: str | int) -> list[AttachmentInfo]:
        """The attachments of a message, numbered from 1 in document order."""
        from mailcli.message.attachments import list_attachments

        return list_attachments(self.readable(self.raw(ref)).display)

    def save_attachments(self, ref: str | int, dest: str | Path, force: bool = False,
                         which: list[int] | None = None) -> list[Path]:
        """Save attachments (all, or the 1-based numbers in `which`) into `dest`.

        File names are sanitized and confined to `dest`; an existing file is an error
        unless `force`. Returns the paths written.
        """
        from mailcli.message.attachments import save_attachments

        return save_attachments(self.readable(self.raw(ref)).display, Path(dest), force=force,
                                which=which)

    def last_sync(self, account: str | None = None) -> datetime | None:
        """When a folder of `account` (default: any) was last synced, from the cache."""
        times = [s.synced_at for s in self.core.store.folder_states(account) if s.synced_at]
        return datetime.fromtimestamp(max(times), UTC) if times else None

    def rebuild_index(self) -> RebuildReport:
        """Re-derive the index from the Maildirs (ids, UIDs and sync state survive), and
        the outbox rows from their file records (mailcli.send.restore)."""
        import dataclasses

        from mailcli.send.restore import restore
        from mailcli.store import rebuild_index

        report = rebuild_index(self.core.store)
        return dataclasses.replace(report, outbox=restore(self.core.store))
