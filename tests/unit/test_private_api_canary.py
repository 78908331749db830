"""Canary: the private attributes of our dependencies that mailcli relies on still exist.

mailcli reaches below public APIs in a few places (each for a reason written where it is
used): imaplib's reader and tag machinery under imapclient (bounded reads, pipelined
FETCH/STORE), imapclient's connection factory, poplib's response reader (pipelined RETR/DELE),
and the email FeedParser's message hook (bounded parse). An upgrade that renames one of them
must fail here, with its name, before it fails somewhere deep in a sync.
"""
from __future__ import annotations

import email.feedparser
import imaplib
import inspect
import poplib

import imapclient
import pytest


@pytest.mark.parametrize("owner,name", [
    (imaplib.IMAP4, "_new_tag"),
    (imaplib.IMAP4, "_get_response"),
    (imaplib.IMAP4, "_append_untagged"),
    (imaplib.IMAP4, "readline"),
    (imaplib.IMAP4, "read"),
    (imapclient.IMAPClient, "_create_IMAP4"),
    (imapclient.IMAPClient, "_proc_folder_list"),
    (poplib.POP3, "_getresp"),
    (poplib.POP3, "_shortcmd"),
    (poplib.POP3, "_getline"),
    (email.feedparser.FeedParser, "_new_message"),
])
def test_private_method_still_exists(owner: type, name: str) -> None:
    assert callable(getattr(owner, name, None)), f"{owner.__module__}.{owner.__name__}.{name} is gone"


def test_imaplib_instance_attributes_still_set_in_init() -> None:
    """tagged_commands / untagged_responses / debug are set on the instance by IMAP4.__init__
    (read without connecting: the source of __init__ and _connect)."""
    src = inspect.getsource(imaplib.IMAP4.__init__) + inspect.getsource(imaplib.IMAP4._connect)
    for attr in ("self.tagged_commands", "self.untagged_responses", "self.debug"):
        assert attr in src, attr


def test_imapclient_keeps_its_imaplib_object_as__imap() -> None:
    src = inspect.getsource(imapclient.IMAPClient.__init__)
    assert "self._imap = self._create_IMAP4()" in src.replace("\n", " ") or "self._imap =" in src


def test_feedparser_tracks_the_current_message_as__cur() -> None:
    assert "self._cur" in inspect.getsource(email.feedparser.FeedParser._new_message)


def test_poplib_reads_replies_from_the_file_it_assigns() -> None:
    """accounts/pop3.py replaces poplib's `file` (a property whose setter installs a
    SocketReader): poplib must still assign it in __init__ (and stls) and read status
    lines through its readline()."""
    init = inspect.getsource(poplib.POP3.__init__)
    assert "self.file = self.sock.makefile('rb')" in init
    assert "self.file.readline(" in inspect.getsource(poplib.POP3._getline)
    assert "self.file = None" in inspect.getsource(poplib.POP3.close)
