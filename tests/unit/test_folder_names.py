"""Folder names that do not fit the plain mapping: a "/" inside a level on a server
whose separator is "." (accounts/names.py), and paths too long for the file system
(store/maildir.py hashes them)."""
from __future__ import annotations

import pytest

from mailcli.accounts.names import to_server, to_user
from mailcli.store.maildir import MAX_RELPATH, folder_to_relpath, relpath_to_folder


@pytest.mark.parametrize("server, user", [
    ("INBOX.a/b", "INBOX/a%2Fb"),
    ("INBOX.a.b", "INBOX/a/b"),
    ("INBOX.x%2Fy", "INBOX/x%252Fy"),   # a literal "%2F" cannot pass for a "/"
    ("INBOX.50%", "INBOX/50%"),         # ordinary names are unchanged
    ("Sent", "Sent"),
])
def test_dot_separator_names_map_both_ways(server: str, user: str) -> None:
    assert to_user(server, ".") == user
    assert to_server(user, ".") == server


def test_slash_separator_names_are_unchanged() -> None:
    assert to_user("a/b", "/") == "a/b" and to_server("a/b", "/") == "a/b"


def test_long_paths_are_hashed_and_distinct() -> None:
    deep = "/".join(f"level-{'x' * 120}{i}" for i in range(31))
    rel = folder_to_relpath(deep)
    assert rel.startswith("%#") and "/" not in rel and len(rel) < 64
    assert folder_to_relpath(deep + "y") != rel
    short = "/".join(f"l{i}" for i in range(31))
    assert relpath_to_folder(folder_to_relpath(short)) == short
    assert len(folder_to_relpath("a" * (MAX_RELPATH // 2)).encode()) <= MAX_RELPATH
