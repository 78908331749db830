"""Human rendering of mail data for the terminal: envelope tables (list, search and the
change commands), folder tables, sizes and local dates. Every string that came from a
message passes through mailcli.message.sanitize.safe_line here."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import parseaddr

from mailcli.cli.output import style, use_colour, width
from mailcli.cli.table import Column, render
from mailcli.message.sanitize import safe_line
from mailcli.model import Envelope, Flag, FolderSummary


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "K", "M", "G"):
        if size < 1024 or unit == "G":
            return f"{int(size)}{unit}" if unit == "B" else f"{size:.1f}{unit}".replace(".0", "")
        size /= 1024
    return f"{n}B"  # pragma: no cover


def local_date(dt: datetime | None, now: datetime | None = None) -> str:
    """Local time; today's messages show the time, older ones the date."""
    if dt is None:
        return "-"
    local = dt.astimezone()
    now = now or datetime.now().astimezone()
    if local.date() == now.date():
        return local.strftime("%H:%M")
    if local.year == now.year:
        return local.strftime("%b %d")
    return local.strftime("%Y-%m-%d")


def sender(text: str) -> str:
    """The display name of a From field, else its address (terminal-safe)."""
    first = text.split(",")[0]
    name, addr = parseaddr(first)
    return safe_line(name or addr or text)


def flag_marks(env: Envelope) -> str:
    """N unread, ! flagged, r answered, D draft, P partial (headers only)."""
    return ("N" if Flag.SEEN not in env.flags else "") + \
        ("!" if Flag.FLAGGED in env.flags else "") + \
        ("r" if Flag.ANSWERED in env.flags else "") + \
        ("D" if Flag.DRAFT in env.flags else "") + ("P" if env.partial else "")


def _unread_bold(cell: str, row: Sequence[str]) -> str:
    return style(cell, bold=True) if "N" in row[2] else cell


def envelope_lines(envs: Sequence[Envelope], show_folder: bool = True) -> list[str]:
    """Aligned rows: id, date, flags, from, [account/folder], subject, size, attachment."""
    rows = []
    for e in envs:
        row = [str(e.id), local_date(e.date), flag_marks(e), sender(e.from_)]
        if show_folder:
            row.append(safe_line(f"{e.account}/{e.folder}"))
        row += [safe_line(e.subject) or "(no subject)", human_size(e.size),
                "@" if e.has_attachments else ""]
        rows.append(row)
    cols = [Column("ID", right=True, max=10), Column("DATE", max=10),
            Column("FL", max=5, style=(lambda c, r: style(c, fg="yellow")) if use_colour() else None),
            Column("FROM", max=22, min=6, style=_unread_bold if use_colour() else None)]
    if show_folder:
        cols.append(Column("FOLDER", max=18, min=5))
    total = width()
    # the subject is what a person scans: at 80 columns it keeps a third of the line and
    # From/Folder give up their width first (it used to get 13 cells while they kept theirs)
    cols += [Column("SUBJECT", flex=True, min=max(8, total // 3),
                    style=_unread_bold if use_colour() else None),
             Column("SIZE", right=True, max=6), Column("A", max=1)]
    return render(cols, rows, total, header=True)


def folder_lines(folders: Sequence[FolderSummary]) -> list[str]:
    rows = [[safe_line(f.account), safe_line(f.folder), str(f.total), str(f.unread)]
            for f in folders]
    cols = [Column("ACCOUNT", max=20), Column("FOLDER", flex=True, min=8),
            Column("TOTAL", right=True, max=8),
            Column("UNREAD", right=True, max=8,
                   style=(lambda c, r: style(c, bold=True) if r[3] != "0" else c))]
    return render(cols, rows, width(), header=True)
