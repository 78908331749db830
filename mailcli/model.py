"""Domain values shared by every layer: flags, folders, envelopes, quota.

Frozen dataclasses only; imports nothing from mailcli and no third-party package.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class Flag(str, Enum):
    """The message flags mailcli tracks (the JSON names of SPEC.md)."""

    SEEN = "seen"
    ANSWERED = "answered"
    FLAGGED = "flagged"
    DELETED = "deleted"
    DRAFT = "draft"

    @property
    def imap(self) -> str:
        return _IMAP[self]

    @property
    def maildir(self) -> str:
        return _MAILDIR[self]

    @classmethod
    def from_imap(cls, name: str) -> Flag | None:
        return _FROM_IMAP.get(name.lower())

    @classmethod
    def from_maildir(cls, letter: str) -> Flag | None:
        return _FROM_MAILDIR.get(letter)


_IMAP = {Flag.SEEN: "\\Seen", Flag.ANSWERED: "\\Answered", Flag.FLAGGED: "\\Flagged",
         Flag.DELETED: "\\Deleted", Flag.DRAFT: "\\Draft"}
_FROM_IMAP = {v.lower(): k for k, v in _IMAP.items()}
# Maildir info letters (the :2, suffix), kept in ASCII order when written.
_MAILDIR = {Flag.DRAFT: "D", Flag.FLAGGED: "F", Flag.ANSWERED: "R", Flag.SEEN: "S",
            Flag.DELETED: "T"}
_FROM_MAILDIR = {v: k for k, v in _MAILDIR.items()}

Flags = frozenset[Flag]


def flags_to_json(flags: Flags) -> list[str]:
    """Flags in a stable order for JSON output."""
    return [f.value for f in Flag if f in flags]


class FolderRole(str, Enum):
    """SPECIAL-USE roles (RFC 6154) plus INBOX."""

    INBOX = "inbox"
    SENT = "sent"
    DRAFTS = "drafts"
    TRASH = "trash"
    JUNK = "junk"
    ARCHIVE = "archive"
    ALL = "all"
    FLAGGED = "flagged"


# the usual names of a Sent folder without the \\Sent attribute (mailcli.send.sent looks
# for them; the address book counts mail in them as written by the user)
WELL_KNOWN_SENT = ("Sent", "Sent Items", "Sent Messages", "Gesendet", "Gesendete Objekte",
                   "Gesendete Elemente")


@dataclass(frozen=True)
class Contact:
    """One address of the address book: how often the user wrote to it (`written`: To/Cc
    of their Sent mail) and how often it was seen otherwise (From/To/Cc of other mail);
    `last_seen` is the newest of either (None: only from address_book_command)."""

    name: str
    address: str
    written: int = 0
    seen: int = 0
    last_seen: datetime | None = None

    @property
    def count(self) -> int:
        return self.written + self.seen

    def display(self) -> str:
        """'Name <address>' (quoted as needed), or the bare address."""
        from email.headerregistry import Address

        if not self.name:
            return self.address
        try:
            return str(Address(display_name=self.name, addr_spec=self.address))
        except (ValueError, IndexError):
            return self.address

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "address": self.address, "count": self.count,
                "written": self.written,
                "last_seen": self.last_seen.isoformat() if self.last_seen else None}


@dataclass(frozen=True)
class FolderInfo:
    """A folder as the server lists it. `name` is the decoded (Unicode) name."""

    name: str
    delimiter: str = "/"
    role: FolderRole | None = None
    selectable: bool = True


@dataclass(frozen=True)
class FolderStatus:
    """What SELECT/STATUS says about a folder. highestmodseq is None without CONDSTORE."""

    name: str
    uidvalidity: int
    uidnext: int
    messages: int
    highestmodseq: int | None = None
    unseen: int | None = None


@dataclass(frozen=True)
class RemoteFlags:
    """Flags of one server message (and its MODSEQ where CONDSTORE is on)."""

    uid: int
    flags: Flags
    modseq: int | None = None
    size: int | None = None


@dataclass(frozen=True)
class FolderChanges:
    """What changed in a folder since a known state (QRESYNC/CONDSTORE or full scan).

    `changed` holds the current flags of every message changed since `since_modseq`
    (or of every message after a full scan, then `full` is True).
    `vanished` holds UIDs known to be expunged; with `full` the caller derives
    expunges from the complete `changed` set instead.
    """

    status: FolderStatus
    changed: tuple[RemoteFlags, ...]
    vanished: tuple[int, ...] = ()
    full: bool = False


@dataclass(frozen=True)
class PopEntry:
    """One message in a POP3 maildrop: session number, UIDL and size."""

    number: int
    uidl: str
    size: int


@dataclass(frozen=True)
class Quota:
    """Storage use. None where the server does not say."""

    account: str
    used_bytes: int | None
    limit_bytes: int | None
    messages: int | None = None
    message_limit: int | None = None

    @property
    def percent(self) -> float | None:
        if self.used_bytes is None or not self.limit_bytes:
            return None
        return 100.0 * self.used_bytes / self.limit_bytes  # exact: displays round, JSON must not


@dataclass(frozen=True)
class Envelope:
    """A cached message's summary: what `list`/`search` show (SPEC.md JSON shape)."""

    id: int
    account: str
    folder: str
    uid: int | str | None
    message_id: str | None
    date: datetime | None
    from_: str
    to: str
    cc: str
    subject: str
    flags: Flags
    size: int
    has_attachments: bool
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    partial: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "account": self.account,
            "folder": self.folder,
            "uid": self.uid,
            "message_id": self.message_id,
            "date": self.date.isoformat() if self.date else None,
            "from": self.from_,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "flags": flags_to_json(self.flags),
            "size": self.size,
            "has_attachments": self.has_attachments,
        }


@dataclass(frozen=True)
class AttachmentInfo:
    """One attachment of a message, as `show` and `attachments` list it."""

    filename: str
    content_type: str
    size: int
    index: int = 0


@dataclass(frozen=True)
class FolderSummary:
    """A folder's message and unread counts in the local cache."""

    account: str
    folder: str
    total: int
    unread: int
    role: FolderRole | None = None

    def to_json(self) -> dict[str, object]:
        return {"account": self.account, "folder": self.folder, "total": self.total,
                "unread": self.unread}


@dataclass
class AccountReport:
    """The outcome of one account in a `fetch` run (SPEC.md fetch JSON)."""

    account: str
    protocol: str
    ok: bool = True
    new: int = 0
    updated: int = 0
    deleted: int = 0
    uploaded: int = 0
    error: str | None = None
    exit_code: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"account": self.account, "protocol": self.protocol, "ok": self.ok,
                "new": self.new, "updated": self.updated, "deleted": self.deleted,
                "uploaded": self.uploaded, "error": self.error, "notes": self.notes}
