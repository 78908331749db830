"""Server folder names <-> mailcli's "/"-separated names, for servers whose hierarchy
separator is not "/" (e.g. "." on Courier/Cyrus-style servers).

A level may then hold a literal "/" (``INBOX.a/b`` is the level ``a/b`` under INBOX). Such a
level is written ``a%2Fb`` in mailcli's name (and ``%`` as ``%25``), so the name maps back to
the same server folder and to one local directory. Levels with neither "/" nor a ``%2F``/
``%25`` sequence are unchanged, so every ordinary name stays as it was.
"""
from __future__ import annotations

import re

_ESCAPED = re.compile(r"%2F|%25")


def _level_to_user(level: str) -> str:
    if "/" in level or _ESCAPED.search(level):
        return level.replace("%", "%25").replace("/", "%2F")
    return level


def _level_to_server(level: str) -> str:
    return _ESCAPED.sub(lambda m: "/" if m.group(0) == "%2F" else "%", level)


def to_user(name: str, delim: str) -> str:
    """Server name (levels split by `delim`) -> mailcli name (levels split by "/")."""
    if delim == "/" or not delim:
        return name
    return "/".join(_level_to_user(level) for level in name.split(delim))


def to_server(name: str, delim: str) -> str:
    """Inverse of :func:`to_user`."""
    if delim == "/" or not delim:
        return name
    return delim.join(_level_to_server(level) for level in name.split("/"))
