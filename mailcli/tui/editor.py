"""Editing a draft in the user's $EDITOR from the TUI (App.suspend), like `mailcli compose`.

The text form of the draft (header lines, blank line, body) is the sending layer's own
(mailcli.send.draftfile), so the TUI and the CLI hand the editor the same file. The file
is private to the user, in a temporary location, and removed afterwards.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from mailcli.errors import UsageError
from mailcli.send import draftfile


def editor_command(configured: str | None) -> list[str]:
    """config [general] editor > $VISUAL > $EDITOR > vi."""
    cmd = configured or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(cmd)


def edit_draft(app: Any, draft: Any, configured_editor: str | None) -> Any | None:
    """Suspend the app, run the editor on the draft; the edited draft, None if unchanged.

    Raises:
        UsageError: the editor could not run, or the edited text is not a valid draft.
        textual.app.SuspendNotSupported: no terminal to hand over (e.g. headless).
    """
    fd, name = tempfile.mkstemp(prefix="mailcli-draft-", suffix=".txt")
    path = Path(name)
    try:
        original = draftfile.render(draft)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(original)
        with app.suspend():
            try:
                subprocess.run([*editor_command(configured_editor), str(path)], check=False)
            except FileNotFoundError as exc:
                raise UsageError(f"cannot run the editor {exc.filename!r}",
                                 hint="set editor in [general] or $EDITOR") from None
        edited = path.read_text(encoding="utf-8", errors="replace")
        if edited == original:
            return None
        return draftfile.parse(edited, draft)
    finally:
        path.unlink(missing_ok=True)
