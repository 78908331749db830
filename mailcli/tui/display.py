"""How envelope fields look on screen: dates, sender names, flag marks, folder labels.

Every string that came from a message passes through ``safe_line`` (terminal escape
sequences and control characters neutralized) before it is drawn, and is drawn as a Rich
``Text`` (never parsed as markup), so a Subject like ``[red]x`` or ``\\x1b]52;...`` shows
literally and harmlessly.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parseaddr

from mailcli.message.sanitize import safe_line
from mailcli.model import Envelope, Flag

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def short_date(when: datetime | None, now: datetime) -> str:
    """"14:02" today, "Mar 07" this year, "2023-03-07" before; local time."""
    if when is None:
        return "-"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone()
    today = now.astimezone()
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%b %d")
    return local.strftime("%Y-%m-%d")


def long_date(when: datetime | None) -> str:
    if when is None:
        return "(no date)"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone().strftime("%a, %d %b %Y %H:%M %Z").strip()


def sender_name(from_: str) -> str:
    """The display name of the first sender, else its address (terminal-safe)."""
    clean = safe_line(from_ or "")
    name, addr = parseaddr(clean)
    return safe_line(name or addr or clean) or "(unknown)"


def flag_marks(env: Envelope) -> str:
    """Three columns of mutt-style marks: N (unread), F (flagged) / D (draft), r (answered)."""
    flags = env.flags
    new = "N" if Flag.SEEN not in flags else " "
    star = "F" if Flag.FLAGGED in flags else ("D" if Flag.DRAFT in flags else " ")
    answered = "r" if Flag.ANSWERED in flags else " "
    return new + star + answered


def subject(env: Envelope) -> str:
    return safe_line(env.subject) or "(no subject)"


def folder_label(name: str) -> str:
    """A folder's last path component, terminal-safe."""
    return safe_line(name.rsplit("/", 1)[-1]) or "(unnamed)"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "K", "M", "G"):
        if size < 1024 or unit == "G":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{n}B"
