"""Editing a draft in the user's $EDITOR from the TUI (App.suspend), like `mailcli compose`.

The text form of the draft (header lines, blank line, body) and the editor to run are
the service's (mailcli.service.drafts), so the TUI and the CLI hand the editor the same
file. The file is private to the user, in a temporary location, and removed afterwards.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mailcli.errors import UsageError

if TYPE_CHECKING:
    from mailcli.service import Draft
    from mailcli.tui.app import MailApp


def edit_draft(app: MailApp, draft: Draft) -> Draft | None:
    """Suspend the app, run the editor on the draft; the edited draft, None if unchanged.

    Raises:
        UsageError: the editor could not run, or the edited text is not a valid draft.
        textual.app.SuspendNotSupported: no terminal to hand over (e.g. headless).
    """
    fd, name = tempfile.mkstemp(prefix="mailcli-draft-", suffix=".txt")
    path = Path(name)
    try:
        service = app.service
        original = service.draft_text(draft)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(original)
        with app.suspend():
            try:
                subprocess.run([*service.editor_command(), str(path)], check=False)
            except FileNotFoundError as exc:
                raise UsageError(f"cannot run the editor {exc.filename!r}",
                                 hint="set editor in [general] or $EDITOR") from None
        edited = path.read_text(encoding="utf-8", errors="replace")
        if edited == original:
            return None
        return service.parse_draft_text(edited, draft)
    finally:
        path.unlink(missing_ok=True)
