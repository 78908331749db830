"""`mailcli open REF [PART]` and the TUI's `o`: hand the HTML part of a message, or one
of its attachments, to the desktop's program.

The part is written into a fresh private directory under ``<data>/open/`` (0700; the file
0600, its name the sanitized one `attachments` lists) and the opener runs on it: the
command in $MAILCLI_OPENER (split like a shell line), else ``xdg-open`` (``open`` on
macOS). mailcli itself fetches nothing: the program opened may load remote content of
an HTML part, as a browser does. Directories older than a day are removed on the next
open (the program may read the file after the opener returned)."""
from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailcli.errors import MailcliError, NotFoundError, UsageError

if TYPE_CHECKING:
    from mailcli.service.core import ServiceCore
    from mailcli.service.reading import Reading

logger = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class OpenedPart:
    path: Path            # the private copy handed over
    content_type: str
    command: list[str]    # the opener run (without the path)

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "content_type": self.content_type,
                "command": self.command}


def opener_command() -> list[str]:
    configured = os.environ.get("MAILCLI_OPENER", "").strip()
    if configured:
        return shlex.split(configured)
    return ["open"] if sys.platform == "darwin" else ["xdg-open"]


def _part(raw: bytes, part: str | int | None) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of the HTML body (part None or "html") or of
    attachment number `part` (1-based, as `mailcli attachments` numbers them)."""
    from mailcli.message import mime
    from mailcli.message.attachments import attachment_infos

    root = mime.parse_tree(raw)
    if part is None or str(part).strip().lower() == "html":
        for kind, piece in mime.body_pieces(root, prefer_html=True):
            if kind == "html":
                text = mime.part_text(piece)
                return "message.html", "text/html", ('<meta charset="utf-8">\n' + text).encode("utf-8")
        raise NotFoundError("this message has no HTML part",
                            hint="give an attachment number (see `mailcli attachments REF`)")
    try:
        number = int(str(part).strip())
    except ValueError:
        raise UsageError(f"PART must be 'html' or an attachment number, not {str(part)[:20]!r}") from None
    parts = mime.attachment_parts(root)
    infos = attachment_infos(root)
    if not 1 <= number <= len(parts):
        raise NotFoundError(f"no attachment {number} (the message has {len(parts)})",
                            hint="see `mailcli attachments REF`")
    info = infos[number - 1]
    return info.filename, info.content_type, mime.payload_bytes(parts[number - 1])


def _clean_old(base: Path) -> None:
    now = time.time()
    for d in base.iterdir() if base.is_dir() else []:
        try:
            if d.is_dir() and not d.is_symlink() and now - d.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def open_part(core: ServiceCore, reading: Reading, ref: str | int,
              part: str | int | None = None) -> OpenedPart:
    """Write the part to a private file and run the opener on it (waits for the opener;
    its output is not shown, a failing or missing opener is an error)."""
    from mailcli.paths import make_private_dir

    env = reading.resolve(ref)
    # an encrypted message's parts are those of the decrypted message (as `attachments`
    # numbers them); the copy handed to the opener is then decrypted, like any MUA's
    name, ctype, data = _part(reading.readable(core.store.read_raw(env.id)).display, part)
    base = make_private_dir(core.data_dir / "open")
    _clean_old(base)
    folder = Path(tempfile.mkdtemp(prefix="part-", dir=base))  # 0700
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    command = opener_command()
    try:
        done = subprocess.run([*command, str(path)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    except FileNotFoundError:
        raise UsageError(f"cannot run {command[0]!r} to open the part",
                         hint=f"set MAILCLI_OPENER to a program that opens files; the part is at {path}") from None
    if done.returncode != 0:
        from mailcli.message.sanitize import safe_line

        said = safe_line(done.stderr.decode("utf-8", "replace").strip().splitlines()[-1][:200]
                         if done.stderr.strip() else "")
        raise MailcliError(f"{command[0]} exited with status {done.returncode}"
                           + (f": {said}" if said else ""), hint=f"the part is at {path}")
    logger.info("opened %s of message %d with %s", name, env.id, command[0])
    return OpenedPart(path, ctype, command)
