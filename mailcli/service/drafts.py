"""Drafts as editable text, for $EDITOR in the CLI and the TUI: header lines (From, To,
Cc, Bcc, Subject, Attach), a blank line, the body. A façade over mailcli.send.draftfile,
so both shells hand the editor the same file without importing the sending layer."""
from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailcli.send.compose import Draft


def render(draft: Draft) -> str:
    """The draft as editable text."""
    from mailcli.send import draftfile

    return draftfile.render(draft)


def parse(text: str, base: Draft, strict: bool = True) -> Draft:
    """Edited draft text applied to `base` (UsageError naming a bad line). `strict=False`
    is for saving a draft: an address that does not parse is kept as written."""
    from mailcli.send import draftfile

    return draftfile.parse(text, base, strict)


def split_addresses(value: str) -> list[str]:
    """'A <a@x>, b@y' -> ['A <a@x>', 'b@y'] (UsageError for a bad address)."""
    from mailcli.send import draftfile

    return draftfile.split_addresses(value)


def editor_command(configured: str | None) -> list[str]:
    """The editor to run: config [general] editor, else $VISUAL, $EDITOR, vi."""
    cmd = configured or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(cmd)
