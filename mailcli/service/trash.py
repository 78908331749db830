"""Which folder is an account's Trash (where `delete` moves mail).

Order (SPEC.md): ``trash_folder`` from the config, else the cached folder the server marks
SPECIAL-USE ``\\Trash``, else a usual name (English, German, Outlook/Exchange, Apple),
directly or under the personal namespace prefix (``INBOX/Trash`` for a Courier-style
``INBOX.Trash``), compared without case. When none exists, ``Trash`` (under the prefix
when every folder lives under INBOX) is proposed and created on the server with the move.
Pure functions over the cached folder list: no I/O.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailcli.model import FolderRole, FolderSummary

USUAL_NAMES = ("Trash", "Deleted Items", "Deleted Messages", "Deleted", "Papierkorb",
               "Gelöschte Elemente", "Gelöschte Objekte", "Bin", "Corbeille", "Papelera")
DEFAULT = "Trash"


@dataclass(frozen=True)
class TrashFolder:
    name: str
    exists: bool   # False: not cached yet; the server copy is created with the first move


def find_trash(folders: Iterable[FolderSummary], configured: str | None = None) -> TrashFolder:
    """The Trash of one account's cached `folders` (see the module docstring)."""
    folders = list(folders)
    names = {f.folder for f in folders}
    if configured:
        return TrashFolder(configured, configured in names)
    for f in folders:
        if f.role == FolderRole.TRASH:
            return TrashFolder(f.folder, True)
    by_lower = {n.casefold(): n for n in sorted(names)}
    for prefix in ("", "INBOX/"):
        for usual in USUAL_NAMES:
            hit = by_lower.get((prefix + usual).casefold())
            if hit is not None:
                return TrashFolder(hit, True)
    others = [n for n in names if n.upper() != "INBOX"]
    under_inbox = bool(others) and all(n.upper().startswith("INBOX/") for n in others)
    return TrashFolder(("INBOX/" if under_inbox else "") + DEFAULT, False)
