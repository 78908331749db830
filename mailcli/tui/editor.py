"""Editing a draft in the user's $EDITOR from the TUI (App.suspend), mutt style.

The draft is written as a header block (From/To/Cc/Bcc/Subject) + blank line + body to a
private temporary file; after the editor exits the file is read back into the draft.
If the Service grows its own draft-editing helper, prefer it (``Backend.supports``).
"""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from mailcli.errors import UsageError

FIELDS = (("From", "from_"), ("To", "to"), ("Cc", "cc"), ("Bcc", "bcc"), ("Subject", "subject"))


def editor_command(configured: str | None) -> list[str]:
    """config [general] editor > $VISUAL > $EDITOR > vi."""
    cmd = configured or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(cmd)


def draft_text(draft: Any) -> str:
    lines = []
    for header, attr in FIELDS:
        value = getattr(draft, attr, "")
        if isinstance(value, list):
            value = ", ".join(value)
        lines.append(f"{header}: {value or ''}")
    return "\n".join(lines) + "\n\n" + (draft.body or "")


def apply_text(draft: Any, text: str) -> None:
    """Read an edited header block + body back into the draft (unknown headers: error)."""
    head, sep, body = text.replace("\r\n", "\n").partition("\n\n")
    if not sep:
        raise UsageError("the edited draft has no blank line between headers and body")
    names = {h.lower(): attr for h, attr in FIELDS}
    for line in head.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        attr = names.get(name.strip().lower())
        if not colon or attr is None:
            raise UsageError(f"unknown header line in the draft: {line[:60]!r}")
        value = value.strip()
        if attr in ("to", "cc", "bcc"):
            setattr(draft, attr, [v.strip() for v in value.split(",") if v.strip()])
        else:
            setattr(draft, attr, value)
    draft.body = body


def edit_draft(app: Any, draft: Any, configured_editor: str | None) -> bool:
    """Suspend the app, run the editor on the draft, read it back. False if unchanged."""
    fd, name = tempfile.mkstemp(prefix="mailcli-draft-", suffix=".eml")
    path = Path(name)
    try:
        original = draft_text(draft)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(original)
        with app.suspend():
            subprocess.run([*editor_command(configured_editor), str(path)], check=False)
        edited = path.read_text(encoding="utf-8", errors="replace")
        if edited == original:
            return False
        apply_text(draft, edited)
        return True
    finally:
        path.unlink(missing_ok=True)
