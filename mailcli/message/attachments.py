"""Attachments: listing (name, type, size), safe file names and safe saving.

A file name in a message is attacker-chosen. `safe_filename` keeps only a last path
component with no separators, no '..', no leading dot or dash, no control or bidi
characters, no Windows device names or reserved characters, at most 200 bytes of UTF-8.
`save_attachments` writes only inside the destination directory (every target is resolved
and checked), never follows a symlink planted there, and never overwrites an existing file
unless `force` is given (new files are created with O_EXCL; with force the data goes to a
temporary file in the directory that is renamed over the target).

Attachments are numbered from 1 in document order (`AttachmentInfo.index`); those numbers
are what `which` selects.
"""
from __future__ import annotations

import logging
import mimetypes
import os
import re
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

from mailcli.errors import MessageError, NotFoundError
from mailcli.message import mime
from mailcli.message.sanitize import safe_line, strip_controls
from mailcli.model import AttachmentInfo

__all__ = [
    "AttachmentExistsError", "MAX_FILENAME_BYTES", "attachment_infos", "list_attachments",
    "safe_filename", "save_attachments",
]

logger = logging.getLogger(__name__)

MAX_FILENAME_BYTES = 200


class AttachmentExistsError(MessageError):
    """A file of that name is already in the target directory (and force was not given)."""

    title = "File exists"


_SLASH_LIKE = re.compile("[\u2044\u2215\u29f8\u29f9\uff0f\uff3c\ufe68\u2216]")
_RESERVED = re.compile(r'[<>:"|?*]')
_SPACE_RUN = re.compile(r"\s+")
_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$|clock\$)(\.|$)",
                     re.I)
_EXT = re.compile(r"^\.[A-Za-z0-9_+-]{1,16}$")


@lru_cache(maxsize=1)
def _types() -> mimetypes.MimeTypes:
    # Built-in table only (no /etc/mime.types): the same extension on every machine.
    return mimetypes.MimeTypes(filenames=())


_PREFERRED_EXT = {"text/plain": ".txt", "image/jpeg": ".jpg", "message/rfc822": ".eml",
                  "application/octet-stream": ".bin", "text/calendar": ".ics",
                  "message/global": ".eml", "message/delivery-status": ".txt"}


def _extension(content_type: str) -> str:
    ctype = (content_type or "").strip().lower()
    ext = _PREFERRED_EXT.get(ctype)
    if ext is None:
        try:
            ext = _types().guess_extension(ctype, strict=False) or ".bin"
        except Exception:
            ext = ".bin"
    return ext if _EXT.match(ext) else ".bin"


def _truncate_utf8(s: str, limit: int) -> str:
    data = s.encode("utf-8")
    if len(data) <= limit:
        return s
    return data[:limit].decode("utf-8", "ignore")


def safe_filename(name: str | None, index: int, content_type: str) -> str:
    """A name that is safe to create inside a directory, from an untrusted attachment name.

    Falls back to 'attachment-N.ext' (extension from the content type) when nothing
    usable is left.
    """
    fallback = f"attachment-{index}{_extension(content_type)}"
    if not name:
        return fallback
    s = name.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(name) else name
    s = unicodedata.normalize("NFC", strip_controls(s.replace("\t", " ")))
    s = _SLASH_LIKE.sub("_", s)
    # Keep the last path component only (either kind of separator).
    s = re.split(r"[/\\]", s)[-1]
    s = _RESERVED.sub("_", s)
    s = _SPACE_RUN.sub(" ", s).strip()
    s = s.lstrip(".-~ ").rstrip(". ")
    if _DEVICE.match(s):
        s = "_" + s
    if not s or s in (".", ".."):
        return fallback
    if len(s.encode("utf-8")) > MAX_FILENAME_BYTES:
        stem, dot, ext = s.rpartition(".")
        if dot and stem and 0 < len(ext.encode("utf-8")) <= 16:
            tail = "." + ext
            s = _truncate_utf8(stem, MAX_FILENAME_BYTES - len(tail.encode("utf-8"))).rstrip(
                ". ") + tail
        else:
            s = _truncate_utf8(s, MAX_FILENAME_BYTES).rstrip(". ")
    return s or fallback


def _has_surrogates(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _names(parts: list[mime.Message]) -> list[str]:
    """Safe, case-insensitively unique file names for the attachment parts, in order
    (the names listed are the names saved)."""
    taken: set[str] = set()
    names = []
    for index, part in enumerate(parts, start=1):
        name = _unique(safe_filename(mime.filename(part), index, mime.content_type(part)), taken)
        taken.add(name.lower())
        names.append(name)
    return names


def attachment_infos(root: mime.Message) -> list[AttachmentInfo]:
    """AttachmentInfo (safe unique name, type, decoded size, 1-based index) of a tree."""
    parts = mime.attachment_parts(root)
    return [AttachmentInfo(filename=name, content_type=safe_line(mime.content_type(part)),
                           size=mime.payload_size(part), index=index)
            for index, (part, name) in enumerate(zip(parts, _names(parts)), start=1)]


def list_attachments(raw: bytes) -> list[AttachmentInfo]:
    """The attachments of a raw message; never raises for bad mail."""
    return attachment_infos(mime.parse_tree(raw))


def _unique(name: str, taken: set[str]) -> str:
    if name.lower() not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    n = 2
    while True:
        candidate = f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"
        candidate = safe_filename(candidate, n, "application/octet-stream")
        if candidate.lower() not in taken:
            return candidate
        n += 1


def save_attachments(raw: bytes, dest_dir: Path, force: bool = False,
                     which: list[int] | None = None) -> list[Path]:
    """Write attachments (all, or the 1-based indices in `which`) into `dest_dir`.

    Creates `dest_dir` if needed. Raises AttachmentExistsError before writing anything if a
    target exists and not `force`; NotFoundError for an index that does not exist;
    MessageError when a write fails. Returns the paths written, in order.
    """
    parts = mime.attachment_parts(mime.parse_tree(raw))
    chosen = list(range(1, len(parts) + 1)) if which is None else list(dict.fromkeys(which))
    for n in chosen:
        if not 1 <= n <= len(parts):
            raise NotFoundError(f"no attachment {n} (the message has {len(parts)})",
                                hint="list them with `mailcli attachments REF`")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        base = dest_dir.resolve(strict=True)
    except OSError as exc:
        raise MessageError(f"cannot use directory {dest_dir}: {exc.strerror or exc}") from exc
    if not base.is_dir():
        raise MessageError(f"not a directory: {dest_dir}")

    plan: list[tuple[Path, mime.Message]] = []
    names = _names(parts)
    for n in chosen:
        part = parts[n - 1]
        name = names[n - 1]
        target = base / name
        if target.parent != base or name in ("", ".", ".."):
            raise MessageError(f"refusing unsafe attachment name {safe_line(name)!r}")
        if not force and os.path.lexists(target):
            raise AttachmentExistsError(f"file exists: {target}",
                                        hint="use --force to overwrite")
        plan.append((target, part))

    written: list[Path] = []
    for target, part in plan:
        data = mime.payload_bytes(part)
        try:
            if force:
                _replace_file(base, target, data)
            else:
                _create_file(target, data)
        except FileExistsError as exc:
            raise AttachmentExistsError(f"file exists: {target}",
                                        hint="use --force to overwrite") from exc
        except OSError as exc:
            raise MessageError(f"cannot write {target}: {exc.strerror or exc}") from exc
        logger.debug("saved attachment to %s (%d bytes)", target, len(data))
        written.append(target)
    return written


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _create_file(target: Path, data: bytes) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600)
    try:
        _write_all(fd, data)
    except BaseException:
        os.close(fd)
        target.unlink(missing_ok=True)
        raise
    os.close(fd)


def _replace_file(base: Path, target: Path, data: bytes) -> None:
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(21, "is a directory", str(target))
    fd, tmp = tempfile.mkstemp(dir=base, prefix=".mailcli-", suffix=".part")
    try:
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)   # replaces a symlink itself, never what it points to
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        done = os.write(fd, view)
        view = view[done:]
