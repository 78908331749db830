"""Pop3Account against real servers (Dovecot, Cyrus, Courier; POP3S and STLS), and against a scripted
fake POP3 server for what Dovecot will not do: no UIDL, no CAPA, APOP only, -ERR on
RETR, bare-LF replies, long lines, a connection cut mid-message."""
from __future__ import annotations

import socket

import pytest

from mailcli.accounts.base import Capability
from mailcli.accounts.pop3 import Pop3Account, fallback_key
from mailcli.accounts.registry import open_account
from mailcli.errors import MailcliError, ProtocolError, TemporaryError, UnsupportedError
from mailcli.model import FolderRole, PopEntry
from tests.fakes.accounts import account_config, creds, dovecot_config
from tests.fakes.pop3 import PASSWORD as FAKE_PASSWORD, FakePop3Server
from tests.conftest import each_server
from tests.servers.dovecot import PASSWORD, Dovecot

# every test here using mail_server/mail_user/write_config runs once per server
mail_server = each_server("dovecot", "cyrus", "courier")


def message(i: int, extra: bytes = b"") -> bytes:
    return (f"From: s{i}@example.test\r\nTo: r@example.test\r\nSubject: pop {i} Grüße\r\n"
            f"Message-ID: <p{i}@example.test>\r\nDate: Tue, 2 Jan 2024 10:00:{i % 60:02d} +0000\r\n\r\n"
            f".starts with a dot\r\n..two dots\r\n.\r\nbody {i}\r\n").encode() + extra


def pop(server: Dovecot, user: str, security: str = "tls") -> Pop3Account:
    acc = open_account(dovecot_config(server, "pop3", user, security), creds(PASSWORD))
    assert isinstance(acc, Pop3Account)
    return acc


@pytest.mark.dovecot
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_login_and_declared_capabilities(mail_server: Dovecot, mail_user: str, security: str) -> None:
    with pop(mail_server, mail_user, security) as acc:
        assert acc.capabilities == {Capability.POP3, Capability.UIDL, Capability.TOP, Capability.QUOTA}
        assert "PIPELINING" in acc.server_capabilities
        assert acc.list_folders()[0].name == "INBOX" and acc.list_folders()[0].role is FolderRole.INBOX
        for call in (lambda: acc.folder_status("INBOX"), lambda: acc.set_flags("INBOX", [1]),
                     lambda: acc.create_folder("X"), lambda: acc.idle("INBOX", 1),
                     lambda: acc.append("INBOX", b"x")):
            with pytest.raises(UnsupportedError):
                call()


@pytest.mark.dovecot
def test_list_retrieve_headers_quota_byte_identical(mail_server: Dovecot, mail_user: str) -> None:
    long_line = b"x" * 10_000 + b"\r\n"                      # poplib alone stops at 2,048
    msgs = [message(i, long_line if i % 50 == 0 else b"") for i in range(300)]
    mail_server.seed(mail_user, msgs)
    expected = mail_server.messages(mail_user)                   # uid -> raw, as the server holds them
    with pop(mail_server, mail_user) as acc:
        entries = acc.pop_list()
        assert [e.number for e in entries] == list(range(1, 301))
        assert len({e.uidl for e in entries}) == 300
        got: list[tuple[PopEntry, bytes]] = []
        acc.pop_retrieve(entries, lambda e, raw: got.append((e, raw)))
        assert [e for e, _ in got] == entries                 # in order, even pipelined
        assert sorted(raw for _, raw in got) == sorted(expected.values())
        assert all(e.size == len(raw) for e, raw in got)
        head = acc.pop_headers(entries[0])
        assert got[0][1].startswith(head) and head.endswith(b"\r\n\r\n") and b"body" not in head
        q = acc.quota()
        assert q.messages == 300 and q.used_bytes == sum(e.size for e in entries) and q.limit_bytes is None
        first_uidls = [e.uidl for e in entries]
    with pop(mail_server, mail_user, "starttls") as acc:
        assert [e.uidl for e in acc.pop_list()] == first_uidls    # UIDL is stable across sessions


@pytest.mark.dovecot
def test_deletions_happen_only_at_commit(mail_server: Dovecot, mail_user: str) -> None:
    mail_server.seed(mail_user, [message(i) for i in range(5)])
    with pop(mail_server, mail_user) as acc:
        acc.pop_delete(acc.pop_list()[:2])
    assert mail_server.count(mail_user) == 5, "close() without pop_commit() must not delete"
    acc = pop(mail_server, mail_user)
    acc.connect()
    acc.pop_delete(acc.pop_list()[:2])
    acc._p.sock.shutdown(socket.SHUT_RDWR)                   # the link drops before QUIT
    acc.close()
    assert mail_server.count(mail_user) == 5, "a dropped connection deletes nothing"
    with pop(mail_server, mail_user) as acc:
        entries = acc.pop_list()
        acc.pop_delete(entries[:2])
        acc.pop_commit()
        with pytest.raises(ProtocolError, match="not connected"):
            acc.pop_list()
    assert mail_server.count(mail_user) == 3
    with pop(mail_server, mail_user) as acc:
        assert [e.uidl for e in acc.pop_list()] == [e.uidl for e in entries[2:]]


# ---------- the scripted fake server ----------
def fake_pop(server: FakePop3Server, **kw) -> Pop3Account:  # noqa: ANN003
    return Pop3Account(account_config("pop3", server.port, "me", security="none", **kw), creds(FAKE_PASSWORD))


def test_server_without_uidl_gets_stable_fallback_keys() -> None:
    msgs = [message(i) for i in range(4)] + [message(0, b"one more line\r\n")]   # same headers, other size
    with FakePop3Server(msgs, uidl=False) as server:
        with fake_pop(server) as acc:
            assert Capability.UIDL not in acc.capabilities and Capability.TOP in acc.capabilities
            keys = [e.uidl for e in acc.pop_list()]
        with fake_pop(server) as acc:
            assert [e.uidl for e in acc.pop_list()] == keys
    assert all(k.startswith("sha1:") for k in keys) and len(set(keys)) == 5
    assert keys[0] == fallback_key(msgs[0], len(msgs[0]))
    assert not any(c.startswith("UIDL") for c in server.commands)


def test_server_without_capa_is_probed_and_apop_is_used_without_user() -> None:
    with FakePop3Server([message(1), message(2)], capa=False, uidl=True, top=False) as server:
        with fake_pop(server) as acc:
            assert acc.capabilities == {Capability.POP3, Capability.QUOTA, Capability.UIDL}
            assert [e.uidl for e in acc.pop_list()] == ["uid-1", "uid-2"]
            with pytest.raises(UnsupportedError):
                acc.pop_headers(PopEntry(1, "uid-1", 1))
    with FakePop3Server([message(1)], user_cmd=False) as server:
        with fake_pop(server) as acc:
            assert acc.pop_list()[0].uidl == "uid-1"
    assert any(c.startswith("APOP me ") for c in server.commands)
    assert FAKE_PASSWORD not in " ".join(server.commands)


def test_err_on_retr_delivers_the_others_then_raises() -> None:
    msgs = [message(i) for i in range(1, 7)]
    with FakePop3Server(msgs, retr_error={3}) as server:
        with fake_pop(server) as acc:
            got: list[int] = []
            with pytest.raises(ProtocolError, match="RETR 3") as ei:
                acc.pop_retrieve(acc.pop_list(), lambda e, raw: got.append(e.number))
            assert got == [1, 2, 4, 5, 6] and "\n" not in str(ei.value)
            assert acc.pop_list()[0].number == 1                    # the session stays usable


def test_an_overlong_status_line_drops_the_connection_instead_of_reading_out_of_step() -> None:
    """poplib reads at most 2,048 bytes of a status line; the rest stays in the stream. Read
    on, every later reply would be out of step (a body line taken for a status line, a
    message stored under another's UIDL, then DELE'd): the connection is dropped instead."""
    msgs = [message(i) + b"+OK looks like a status\r\n" for i in range(1, 6)]
    with FakePop3Server(msgs, long_status={3}) as server:
        with fake_pop(server) as acc:
            got: list[tuple[int, bytes]] = []
            with pytest.raises(ProtocolError, match="2,048 bytes; the connection was dropped"):
                acc.pop_retrieve(acc.pop_list(), lambda e, raw: got.append((e.number, raw)))
            assert got == [(1, msgs[0]), (2, msgs[1])]
            with pytest.raises(MailcliError):
                acc.pop_delete(acc.pop_list())
    assert not any(c.startswith("DELE") for c in server.commands)


def test_after_an_overlong_status_line_every_read_is_end_of_file() -> None:
    """At the depth every reply is read (the connection's _getline), not per caller: a
    caller that treats the error as one -ERR and reads on gets end of file, never the
    unread rest of the line or the body behind it."""
    import poplib
    with FakePop3Server([message(1), message(2)], long_status={1}) as server:
        with fake_pop(server) as acc:
            acc._put(b"RETR 1")
            with pytest.raises(poplib.error_proto, match="line too long"):
                acc._low._getresp()
            with pytest.raises(poplib.error_proto, match="EOF"):
                acc._low._getresp()


@pytest.mark.parametrize("pipelining", [True, False])
def test_multiline_oddities_bare_lf_dots_and_long_lines(pipelining: bool) -> None:
    odd = [message(1, b"y" * 70_000 + b"\r\n.\r\n..\r\n"), b"Subject: empty body\r\n\r\n", message(3)]
    with FakePop3Server(odd, bare_lf=True, pipelining=pipelining) as server:
        with fake_pop(server) as acc:
            got: list[bytes] = []
            acc.pop_retrieve(acc.pop_list(), lambda e, raw: got.append(raw))
    assert got == [m.replace(b"\r\n", b"\n") for m in odd]      # exact bytes sent, unstuffed


def test_connection_cut_mid_message_is_temporary_and_deletes_nothing() -> None:
    with FakePop3Server([message(1), message(2), message(3)], cut_on_retr=2) as server:
        with fake_pop(server) as acc:
            entries = acc.pop_list()
            acc.pop_delete(entries[2:])
            got: list[int] = []
            with pytest.raises(TemporaryError) as ei:
                acc.pop_retrieve(entries[:2], lambda e, raw: got.append(e.number))
            assert ei.value.exit_code == 75 and got == [1]
    assert server.deleted == set()
