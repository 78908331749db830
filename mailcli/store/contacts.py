"""The address book in the index: every address of the cached mail's From/To/Cc, with how
often the user wrote to it (To/Cc of mail in a Sent folder) and how often it was seen
otherwise, and when last.

`note` is called for each message indexed (delivery, reconcile, `index rebuild`, which
empties the tables first), so the table is rebuilt with the index. A message is counted
once per Message-ID and kind (a copy in All Mail, a moved message, the local and the
server's Sent copy count once). `rank` orders contacts for a query: prefix matches of
the address, the name or any word of either first, then substrings, then the letters in
order; within each, by score (written counts ten times a sighting; older contacts weigh
less). Pure SQL and Python: no config, no network.
"""
from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from mailcli.message.addresses import getaddresses
from mailcli.model import WELL_KNOWN_SENT, Contact, FolderRole

WRITTEN_WEIGHT = 10
HALF_LIFE_DAYS = 180.0
_SPACE = re.compile(r"\s")
_WORDS = re.compile(r"[\s.@_+\-,'\"()<>]+")
_SENT_NAMES = {n.lower() for n in WELL_KNOWN_SENT}

M004_CONTACTS = [
    """CREATE TABLE contacts (
        address TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        written INTEGER NOT NULL DEFAULT 0,
        seen INTEGER NOT NULL DEFAULT 0,
        last_seen INTEGER,
        last_written INTEGER
    )""",
    # which messages were counted (Message-ID, 1 = as written by the user, 0 = seen)
    """CREATE TABLE contact_messages (
        message_id TEXT NOT NULL,
        written INTEGER NOT NULL,
        PRIMARY KEY (message_id, written)
    )""",
]


def migrate(conn: sqlite3.Connection) -> None:
    """The tables, filled from the messages already indexed."""
    for stmt in M004_CONTACTS:
        conn.execute(stmt)
    rows = conn.execute("SELECT account, folder, message_id, date, from_, to_, cc FROM messages"
                        " ORDER BY id").fetchall()
    for r in rows:
        note(conn, r[0], r[1], r[2], r[3], r[4], r[5], r[6])


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM contacts")
    conn.execute("DELETE FROM contact_messages")


def is_sent_folder(conn: sqlite3.Connection, account: str, folder: str) -> bool:
    row = conn.execute("SELECT role FROM folders WHERE account = ? AND name = ?",
                       (account, folder)).fetchone()
    if row is not None and row[0] == FolderRole.SENT.value:
        return True
    return re.split(r"[/.]", folder)[-1].lower() in _SENT_NAMES


Addresses = tuple[list[tuple[str, str]], list[tuple[str, str]]]
"""A message's (name, address) pairs: of From+To+Cc, and of To+Cc (mail the user wrote)."""


def address_pairs(from_: str, to: str, cc: str) -> Addresses:
    """What note() reads of the header values, parsed ahead (the index-parse workers do
    this off the downloader's core)."""
    # empty fields left out: joined, they added ('', '') items (which note() skips) or,
    # after a malformed field (an unclosed comment or domain literal), padding it swallowed
    return (getaddresses(", ".join(v for v in (from_, to, cc) if v)),
            getaddresses(", ".join(v for v in (to, cc) if v)))


def note(conn: sqlite3.Connection, account: str, folder: str, message_id: str | None,
         date: int | None, from_: str, to: str, cc: str,
         pairs: Addresses | None = None, sent_folder: bool | None = None) -> None:
    """Count the addresses of one indexed message (header values as the index keeps them;
    `pairs`: the same values already parsed by address_pairs; `sent_folder`: what
    is_sent_folder answers for the folder, if the caller knows)."""
    written = is_sent_folder(conn, account, folder) if sent_folder is None else sent_folder
    if message_id:
        cur = conn.execute("INSERT OR IGNORE INTO contact_messages (message_id, written)"
                           " VALUES (?, ?)", (message_id, int(written)))
        if cur.rowcount == 0:
            return
    when = date if date is not None else int(time.time())
    if pairs is None:
        pairs = address_pairs(from_, to, cc)
    seen: set[str] = set()
    for name, addr in pairs[1] if written else pairs[0]:
        addr = addr.strip()
        key = addr.lower()
        if "@" not in key or key in seen or len(key) > 320 or _SPACE.search(key):
            continue
        seen.add(key)
        name = " ".join(name.split())[:200]
        conn.execute(
            "INSERT INTO contacts (address, name, written, seen, last_seen, last_written)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET"
            " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,"
            " written = written + excluded.written, seen = seen + excluded.seen,"
            " last_seen = max(coalesce(last_seen, 0), excluded.last_seen),"
            " last_written = CASE WHEN excluded.last_written IS NULL THEN last_written"
            "   ELSE max(coalesce(last_written, 0), excluded.last_written) END",
            (key, name, int(written), int(not written), when, when if written else None))


def all_contacts(conn: sqlite3.Connection) -> list[Contact]:
    return [Contact(name=r[1], address=r[0], written=r[2], seen=r[3],
                    last_seen=datetime.fromtimestamp(r[4], UTC) if r[4] else None)
            for r in conn.execute("SELECT address, name, written, seen, last_seen FROM contacts")]


def score(c: Contact, now: float) -> float:
    """How much the user deals with this address: writing counts most, old mail less."""
    base = WRITTEN_WEIGHT * c.written + c.seen
    if c.last_seen is None:
        return float(base)
    age_days = max(0.0, (now - c.last_seen.timestamp()) / 86400)
    return float(base * 0.5 ** (age_days / HALF_LIFE_DAYS))


def match_tier(c: Contact, query: str) -> int | None:
    """0: a prefix of the address, the name or a word of either; 1: a substring; 2: the
    query's letters in order (3 letters or more); None: no match."""
    q = query.strip().lower()
    if not q:
        return 0
    fields = [c.address.lower(), c.name.lower()]
    words = [w for f in fields for w in _WORDS.split(f) if w]
    if any(f.startswith(q) for f in fields) or any(w.startswith(q) for w in words):
        return 0
    if any(q in f for f in fields):
        return 1
    if len(q) >= 3:
        for f in fields:
            it = iter(f)
            if all(ch in it for ch in q):
                return 2
    return None


def rank(contacts: Iterable[Contact], query: str = "",
         now: float | None = None) -> list[tuple[int, Contact]]:
    """(tier, contact) for every contact matching `query`, best first."""
    t = time.time() if now is None else now
    hits = [(tier, c) for c in contacts if (tier := match_tier(c, query)) is not None]
    hits.sort(key=lambda h: (h[0], -score(h[1], t), h[1].address))
    return hits
