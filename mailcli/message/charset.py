"""Bytes -> str for mail, whatever the label says: charset lookup with aliases and fallbacks.

Labels in real mail are missing, misspelled, unknown ("unknown-8bit", "x-user-defined"), or
wrong (UTF-8 bytes labelled latin-1, windows-1252 bytes labelled utf-8). `decode_bytes`
never raises: it tries the label, then UTF-8, then windows-1252 with replacement. Only text
codecs are used (`bytes.decode` refuses zlib/base64 "codecs", so a label cannot trigger
decompression).
"""
from __future__ import annotations

import codecs
from functools import lru_cache

__all__ = ["decode_bytes", "codec_for"]

# Labels Python does not know, or knows as something narrower than what mailers mean.
_ALIASES = {
    "unknown-8bit": None, "x-unknown": None, "unknown": None, "x-user-defined": None,
    "default": None, "charset": None, "8bit": None, "binary": None,
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "x-windows-949": "cp949",
    "iso-8859-8-i": "iso8859-8", "iso-8859-8-e": "iso8859-8", "windows-874": "cp874",
    "x-sjis": "cp932", "shift-jis": "cp932", "shift_jis": "cp932", "sjis": "cp932",
    "x-mac-roman": "mac-roman", "macintosh": "mac-roman", "ansi_x3.4-1968": "ascii",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "ascii",
    "utf8": "utf-8", "utf-8-sig": "utf-8", "x-utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
    "cp-850": "cp850", "tis-620": "cp874", "big5": "big5hkscs",
}
# Codecs whose labels are commonly put on UTF-8 text by mistake.
_LATIN_LIKE = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"})


@lru_cache(maxsize=256)
def codec_for(label: str | None) -> str | None:
    """The Python codec name for a mail charset label, or None when unknown/absent."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower()
    if "*" in name:                      # RFC 2231 language suffix: utf-8*en
        name = name.split("*", 1)[0]
    if not name or len(name) > 64:
        return None
    if name in _ALIASES:
        name = _ALIASES[name]  # type: ignore[assignment]
        if name is None:
            return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    try:
        b"".decode(info.name)
    except Exception:
        return None
    return info.name


@lru_cache(maxsize=256)
def _ascii_compatible(codec: str) -> bool:
    try:
        return bytes(range(128)).decode(codec) == "".join(map(chr, range(128)))
    except Exception:
        return False


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Decode `data` sensibly whatever `label` says; never raises."""
    if not data:
        return ""
    codec = codec_for(label)
    if (codec is None or _ascii_compatible(codec)) and data.isascii():
        return data.decode("ascii")
    if codec is not None:
        if codec in _LATIN_LIKE or codec == "utf-8":
            # Mislabelled UTF-8 is far more common than latin-1 that happens to be valid UTF-8.
            try:
                return data.decode("utf-8-sig" if data[:3] == codecs.BOM_UTF8 else "utf-8")
            except UnicodeDecodeError:
                pass
            if codec in _LATIN_LIKE:
                return data.decode("cp1252" if codec != "iso8859-15" else codec, "replace")
        else:
            try:
                return data.decode(codec)
            except Exception:  # UnicodeDecodeError, or a codec that misbehaves
                pass
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            try:
                return data.decode(codec, "replace")
            except Exception:
                pass
    else:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return data.decode("cp1252", "replace")
