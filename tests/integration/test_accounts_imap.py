"""ImapAccount against real servers: Dovecot, `dovecot_minimal` (no MOVE/CONDSTORE/QRESYNC/
UIDPLUS/QUOTA), Cyrus in both namespace modes and Courier (no CONDSTORE/QRESYNC/MOVE/
SPECIAL-USE, folders under "INBOX.") run the same tests; what a server lacks is read from
`server.has`, never from its name."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mailcli.accounts.base import Capability
from mailcli.accounts.imap import ImapAccount
from mailcli.accounts.imap_wire import parse_uid_set, uid_set
from mailcli.accounts.registry import open_account
from mailcli.errors import NotFoundError, ProtocolError, UnsupportedError
from mailcli.model import Flag, FolderRole
from tests.fakes.accounts import creds, dovecot_config
from tests.servers.dovecot import PASSWORD, Dovecot

pytestmark = pytest.mark.dovecot


@pytest.fixture(params=["dovecot", "dovecot-minimal", "cyrus", "cyrus-alt", "courier"])
def server(request: pytest.FixtureRequest) -> Dovecot:
    return request.getfixturevalue(request.param.replace("-", "_"))


@pytest.fixture
def user(server: Dovecot) -> str:
    return server.add_user()


def is_full(server: Dovecot) -> bool:
    return "qresync" in server.has


def account(server: Dovecot, user: str, security: str = "tls") -> ImapAccount:
    acc = open_account(dovecot_config(server, "imap", user, security), creds(PASSWORD))
    assert isinstance(acc, ImapAccount)
    return acc


def message(i: int, size: int = 300) -> bytes:
    body = (f"line {i} " * 12 + "\r\n") * max(1, size // 100)
    return (f"From: Sender {i} <s{i}@example.test>\r\nTo: r@example.test\r\n"
            f"Subject: message {i} Grüße\r\nMessage-ID: <m{i}@example.test>\r\n"
            f"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n.leading dot\r\n{body}é\r\n").encode()


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_login_declares_capabilities(server: Dovecot, user: str, security: str) -> None:
    with account(server, user, security) as acc:
        caps = acc.capabilities
        assert {Capability.FOLDERS, Capability.FLAGS, Capability.APPEND, Capability.IDLE} <= caps
        assert Capability.POP3 not in caps
        assert "IMAP4REV1" in acc.server_capabilities
        for cap in (Capability.CONDSTORE, Capability.QRESYNC, Capability.UIDPLUS, Capability.QUOTA):
            assert (cap in caps) == (cap.value.lower() in server.has), cap
        assert acc.atomic_move == ("move" in server.has)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_the_greetings_capabilities_save_the_capability_command(
        server: Dovecot, user: str, security: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every server here names its capabilities in the greeting: LOGIN is the first
    command (one round trip less per connection). After STARTTLS they are asked for
    once (what was said in plaintext is not believed); after LOGIN only if its reply
    did not name them (Courier)."""
    import imaplib

    sent: list[bytes] = []
    real_send = imaplib.IMAP4.send

    def send(self: imaplib.IMAP4, data: bytes) -> None:
        sent.extend(line.split(b" ")[1] for line in data.split(b"\r\n") if line)
        real_send(self, data)

    monkeypatch.setattr(imaplib.IMAP4, "send", send)
    with account(server, user, security) as acc:
        assert "IMAP4REV1" in acc.server_capabilities
        assert [f for f in acc.list_folders() if f.name == "INBOX"]
    login = sent.index(b"LOGIN")
    assert sent[:login] == ([b"STARTTLS", b"CAPABILITY"] if security == "starttls" else []), sent
    assert sent[login + 1:].count(b"CAPABILITY") <= 1, sent


def test_the_greetings_capabilities_are_not_taken_for_the_post_login_ones() -> None:
    """The greeting's list is the pre-login one: after LOGIN (whose reply names none
    here) the capabilities are asked for, and ENABLE goes out for what that answer
    names, not for what the greeting did; a greeting without them costs a CAPABILITY."""
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import FakeImapServer

    caps = "* CAPABILITY IMAP4rev1 ENABLE CONDSTORE\r\n{tag} OK done\r\n"
    greeting = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN QRESYNC ENABLE] ready\r\n"
    with FakeImapServer({"CAPABILITY": caps, "ENABLE": "* ENABLED CONDSTORE\r\n{tag} OK done\r\n"},
                        greeting=greeting) as server:
        with open_account(account_config("imap", server.port, "u", security="none"), creds("pw")) as acc:
            assert [f.name for f in acc.list_folders()] == ["INBOX"]
            assert "QRESYNC" not in acc.server_capabilities
            assert Capability.CONDSTORE in acc.capabilities
        sent = [line.split(" ", 1)[1] for line in server.received]
    assert sent[:3] == ["LOGIN ***", "CAPABILITY", "ENABLE CONDSTORE"], sent
    with FakeImapServer() as server:       # "* OK fake IMAP ready": asked for
        with open_account(account_config("imap", server.port, "u", security="none"), creds("pw")) as acc:
            acc.list_folders()
        sent = [line.split(" ", 1)[1] for line in server.received]
    assert sent[:2] == ["CAPABILITY", "LOGIN ***"], sent


def test_status_of_several_folders_at_once_answers_as_one_by_one(server: Dovecot, user: str) -> None:
    """folder_statuses (one pipelined round trip): the same answers as folder_status for
    each folder, non-ASCII names included; a folder whose STATUS fails is left out and
    the others are still right."""
    L = server.local_name    # noqa: N806
    with account(server, user) as acc:
        for name in ("Entwürfe", "日本", "Leer"):
            acc.create_folder(L(name))
        server.deliver(user, message(1), folder="日本")
        server.deliver(user, message(2), folder="日本")
        server.deliver(user, message(3))
        names = ["INBOX", L("Entwürfe"), L("Gibt es nicht"), L("日本"), L("Leer")]
        got = acc.folder_statuses(names)
        assert set(got) == set(names) - {L("Gibt es nicht")}
        assert got[L("日本")].messages == 2 and got["INBOX"].messages == 1
        for name, status in got.items():
            assert status == acc.folder_status(name), name


def test_list_with_status_answers_as_list_and_status_one_by_one(server: Dovecot, user: str) -> None:
    """list_folders_with_status (LIST-STATUS: one command): the folders list_folders
    gives, and for each selectable one the STATUS folder_status gives, non-ASCII names
    included; the selected folder is left out (its STATUS is the session's view). A
    server without LIST-STATUS gives the listing and no statuses."""
    L = server.local_name    # noqa: N806
    with account(server, user) as acc:
        for name in ("Entwürfe", "日本", "Leer", "2024"):
            acc.create_folder(L(name))
        server.deliver(user, message(1), folder="日本")
        server.deliver(user, message(2), folder="日本")
        server.deliver(user, message(3))
        assert ("list-status" in server.has) == ("LIST-STATUS" in acc._server_caps)
        folders, statuses = acc.list_folders_with_status()
        def by_name(fs: list) -> list:  # noqa: ANN001 - the server's order is its own
            return sorted(fs, key=lambda f: f.name)
        assert by_name(folders) == by_name(acc.list_folders())
        selectable = {f.name for f in folders if f.selectable}
        if "list-status" not in server.has:
            assert statuses == {}
            return
        assert set(statuses) == selectable and {L("Entwürfe"), L("日本"), L("2024")} <= selectable
        assert statuses[L("日本")].messages == 2 and statuses["INBOX"].messages == 1
        for name, status in statuses.items():
            assert status == acc.folder_status(name), name
        acc.fetch_flags(L("日本"))         # selects it
        _folders, statuses = acc.list_folders_with_status()
        assert set(statuses) == selectable - {L("日本")}


def test_status_of_several_folders_goes_out_before_the_first_answer(dovecot: Dovecot) -> None:
    """The STATUS commands are pipelined: all of them go out in one write, before the
    first STATUS answer comes back (the proxy holds each server reply back 20 ms)."""
    from mailcli.accounts.registry import open_account as opener
    from tests.fakes.accounts import account_config
    from tests.fakes.proxy import FaultProxy

    user = dovecot.add_user()
    events: list[tuple[str, int]] = []

    def client(data: bytes) -> None:
        events.append(("sent", data.count(b" STATUS ")))

    def server_said(_n: int, data: bytes) -> bytes:
        events.append(("answered", data.count(b"* STATUS ")))
        return data

    with account(dovecot, user) as acc:
        for name in ("A", "B", "C"):
            acc.create_folder(name)
    with FaultProxy(dovecot.ports.imap, on_client=client, rewrite=server_said,
                    trickle=(1 << 16, 0.02)) as proxy:
        with opener(account_config("imap", proxy.port, user, security="none"), creds(PASSWORD)) as acc:
            got = acc.folder_statuses(["INBOX", "A", "B", "C"])
    assert set(got) == {"INBOX", "A", "B", "C"}
    first_answer = next(i for i, (kind, n) in enumerate(events) if kind == "answered" and n)
    assert sum(n for kind, n in events[:first_answer] if kind == "sent") == 4


@pytest.mark.parametrize("first", ["list", "list-status", "status"])
def test_enable_the_delimiter_list_and_the_first_command_share_one_write(
        dovecot: Dovecot, first: str) -> None:
    """After login, ENABLE and LIST "" "" (the delimiter) wait for the connection's first
    command. A listing (plain, or LIST-STATUS) goes out in ENABLE's write, one round trip
    for both, and names the delimiter itself (no LIST "" "": two LISTs in flight would
    make their answers ambiguous); any other first command goes right behind ENABLE and
    LIST "" "". The capabilities and the delimiter are those the answers give."""
    from mailcli.accounts.registry import open_account as opener
    from tests.fakes.accounts import account_config
    from tests.fakes.proxy import FaultProxy

    user = dovecot.add_user()
    with account(dovecot, user) as acc:
        acc.create_folder("A/B")
    chunks: list[bytes] = []
    with FaultProxy(dovecot.ports.imap, on_client=chunks.append) as proxy:
        with opener(account_config("imap", proxy.port, user, security="none"), creds(PASSWORD)) as acc:
            assert Capability.QRESYNC in acc.capabilities and Capability.CONDSTORE in acc.capabilities
            if first == "list":
                assert "A/B" in {f.name for f in acc.list_folders()}
            elif first == "list-status":
                folders, statuses = acc.list_folders_with_status()
                assert "A/B" in {f.name for f in folders} and "A/B" in statuses
            else:
                assert acc.folder_status("A/B").messages == 0
            assert Capability.QRESYNC in acc.capabilities and acc._delim == "/"
    login = next(i for i, c in enumerate(chunks) if b"LOGIN" in c)
    after = b"".join(chunks[login + 1:])
    prelude = next(c for c in chunks[login + 1:] if b"ENABLE" in c)
    assert b"ENABLE CONDSTORE QRESYNC" in prelude, chunks
    if first == "status":
        assert b'LIST "" ""' in prelude and after.index(b'LIST "" ""') < after.index(b"STATUS"), chunks
    else:
        assert b'LIST "" "*"' in prelude and b'LIST "" ""' not in after, chunks


def test_a_refused_enable_fails_the_first_command_and_is_not_believed() -> None:
    """ENABLE's answer is read with the first command's: a server that refuses it fails
    that command (as a failed ENABLE failed the connection before), and a server that
    enables less than asked is taken at its word (no QRESYNC without its ENABLED)."""
    from mailcli.errors import MailcliError
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import FakeImapServer

    caps = "* CAPABILITY IMAP4rev1 AUTH=PLAIN ENABLE CONDSTORE QRESYNC\r\n{tag} OK done\r\n"
    with FakeImapServer({"CAPABILITY": caps, "ENABLE": "{tag} NO not today\r\n"}) as server:
        with open_account(account_config("imap", server.port, "u", security="none"), creds("pw")) as acc:
            with pytest.raises(MailcliError, match="ENABLE"):
                acc.list_folders()
    with FakeImapServer({"CAPABILITY": caps,
                         "ENABLE": "* ENABLED CONDSTORE\r\n{tag} OK done\r\n"}) as server:
        with open_account(account_config("imap", server.port, "u", security="none"), creds("pw")) as acc:
            assert Capability.QRESYNC in acc.capabilities          # as asked, until answered
            assert [f.name for f in acc.list_folders()] == ["INBOX"]
            assert Capability.QRESYNC not in acc.capabilities
            assert Capability.CONDSTORE in acc.capabilities
        sent = [line.split(" ", 1)[1] for line in server.received]
    start = sent.index("ENABLE CONDSTORE QRESYNC")      # (the LOGOUT may not be read yet)
    assert sent[start:start + 2] == ["ENABLE CONDSTORE QRESYNC", 'LIST "" "*"'], sent


def test_a_refused_enable_before_another_first_command_drops_the_connection() -> None:
    """ENABLE refused with a SELECT or STATUS behind it: the connection is dropped (its
    capabilities were only those asked for, its delimiter unread); the next command
    connects again and meets the same refusal, not a stream out of step."""
    from mailcli.errors import MailcliError
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import FakeImapServer

    caps = "* CAPABILITY IMAP4rev1 AUTH=PLAIN ENABLE CONDSTORE QRESYNC\r\n{tag} OK done\r\n"
    with FakeImapServer({"CAPABILITY": caps, "ENABLE": "{tag} NO not today\r\n"}) as server:
        with open_account(account_config("imap", server.port, "u", security="none"), creds("pw")) as acc:
            for _ in range(2):
                with pytest.raises(MailcliError, match="ENABLE failed"):
                    acc.folder_status("INBOX")
                assert acc._client is None
        logins = [c for c in server.received if "LOGIN" in c]
    assert len(logins) == 2, server.received


def test_a_listing_without_the_delimiter_list_maps_dotted_names() -> None:
    """A "." server's first listing names the delimiter (INBOX's row): the listing's
    names map to "/" and back, as with LIST "" ""."""
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import FakeImapServer

    caps = "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n"
    listing = ('* LIST (\\HasChildren) "." INBOX\r\n* LIST () "." INBOX.Archiv.2024\r\n'
               '* LIST () "." INBOX.Gesendet\r\n{tag} OK done\r\n')
    with FakeImapServer({"CAPABILITY": caps, "LIST": listing}) as server:
        with open_account(account_config("imap", server.port, "u", security="none"), creds("pw")) as acc:
            names = {f.name for f in acc.list_folders()}
            assert names == {"INBOX", "INBOX/Archiv/2024", "INBOX/Gesendet"}
            assert acc._wire("INBOX/Archiv/2024") == "INBOX.Archiv.2024"
        sent = [c.split(" ", 1)[1] for c in server.received]
    assert 'LIST "" ""' not in sent and 'LIST "" "*"' in sent, sent


@pytest.mark.parametrize("security", ["tls", "starttls", "none"])
def test_the_connection_sends_without_nagle_delay(dovecot: Dovecot, security: str) -> None:
    """TCP_NODELAY on every IMAP socket: with Nagle's algorithm a command written while
    an earlier one is unanswered waits for the server's delayed ACK (a round trip or
    more on a real link), which undoes the pipelining of SELECT+scan and FETCH batches."""
    import socket

    user = dovecot.add_user()
    with account(dovecot, user, security=security) as acc:
        sock = acc._c._imap.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert acc.list_folders()


def test_close_sends_logout_and_does_not_wait_for_the_goodbye() -> None:
    """Everything before LOGOUT has been answered: waiting for its BYE cost a round trip
    at the end of every run. The server still reads the LOGOUT."""
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import FakeImapServer

    release = threading.Event()

    def silent(conn: object, tag: str, args: str) -> object:
        release.wait(20)
        return False

    with FakeImapServer({"LOGOUT": silent}) as server:
        acc = open_account(account_config("imap", server.port, "u", security="none"), creds("pw"))
        with acc:
            assert [f.name for f in acc.list_folders()] == ["INBOX"]
            t0 = time.monotonic()
        closed_in = time.monotonic() - t0
        deadline = time.monotonic() + 5
        while not server.received[-1].endswith("LOGOUT") and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
    assert closed_in < 1.0, closed_in
    assert server.received[-1].endswith(" LOGOUT"), server.received


def test_list_with_status_from_a_lying_server_is_bounded_and_skips_what_it_cannot_read() -> None:
    """LIST-STATUS replies are input too: STATUS lines for folders not listed and
    unreadable ones are left out, of two for one folder the last is read; an endless
    listing is cut off by the same bound as a plain LIST."""
    from mailcli.accounts.imap import ImapAccount
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import FakeImapServer

    caps = "* CAPABILITY IMAP4rev1 AUTH=PLAIN LIST-EXTENDED LIST-STATUS SPECIAL-USE\r\n{tag} OK done\r\n"
    odd = ('* LIST () "/" INBOX\r\n* LIST () "/" "A b"\r\n'
           '* STATUS INBOX (MESSAGES 2 UIDNEXT 8 UIDVALIDITY 7 UNSEEN 0)\r\n'
           '* STATUS INBOX (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 7 UNSEEN 0)\r\n'
           '* STATUS "Not listed" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 7 UNSEEN 0)\r\n'
           '* STATUS "A b" (MESSAGES x)\r\n* STATUS "A b" (MESSAGES\r\n'
           '{tag} OK done\r\n')

    def endless(conn: socket.socket, tag: str, args: str) -> object:
        if "RETURN" not in args:
            conn.sendall(b'* LIST (\\Noselect) "/" ""\r\n' + tag.encode() + b" OK done\r\n")
            return None
        block = b"".join(b'* LIST () "/" "folder %d"\r\n' % i for i in range(10_000))
        while True:
            conn.sendall(block)

    with FakeImapServer({"CAPABILITY": caps, "LIST": odd}) as server:
        acc = open_account(account_config("imap", server.port, "u", security="none"), creds("pw"))
        with acc:
            assert isinstance(acc, ImapAccount)
            folders, statuses = acc.list_folders_with_status()
    assert [f.name for f in folders] == ["INBOX", "A b"]
    assert list(statuses) == ["INBOX"] and statuses["INBOX"].uidnext == 9
    with FakeImapServer({"CAPABILITY": caps, "LIST": endless}) as server:
        acc = open_account(account_config("imap", server.port, "u", security="none"), creds("pw"))
        t0 = time.monotonic()
        with pytest.raises(ProtocolError, match="more than 100000 LIST responses"), acc:
            acc.list_folders_with_status()
    assert time.monotonic() - t0 < 60


def test_list_with_status_falls_back_to_a_plain_list_without_losing_roles_or_doubling() -> None:
    """Without SPECIAL-USE an extended LIST may leave the roles out: the plain LIST is
    used. A server that refuses LIST-STATUS after sending LIST lines gets a plain LIST,
    and the lines before the NO do not double the listing."""
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import FakeImapServer

    def listing(conn: socket.socket, tag: str, args: str) -> object:
        if args.endswith('""'):
            conn.sendall(b'* LIST (\\Noselect) "/" ""\r\n' + tag.encode() + b" OK done\r\n")
        elif "RETURN" in args:
            conn.sendall(b'* LIST () "/" INBOX\r\n' + tag.encode() + b" NO [SERVERBUG] oops\r\n")
        else:
            conn.sendall(b'* LIST () "/" INBOX\r\n* LIST (\\Trash) "/" Papierkorb\r\n'
                         + tag.encode() + b" OK done\r\n")
        return None

    for extra in ("", " SPECIAL-USE"):
        caps = f"* CAPABILITY IMAP4rev1 AUTH=PLAIN LIST-STATUS{extra}\r\n{{tag}} OK done\r\n"
        with FakeImapServer({"CAPABILITY": caps, "LIST": listing}) as server:
            acc = open_account(account_config("imap", server.port, "u", security="none"), creds("pw"))
            with acc:
                folders, statuses = acc.list_folders_with_status()
        assert statuses == {}
        assert sorted((f.name, f.role) for f in folders) == [("INBOX", FolderRole.INBOX),
                                                              ("Papierkorb", FolderRole.TRASH)]
        asked = [c for c in server.received if " RETURN " in c]
        assert len(asked) == (1 if extra else 0), server.received


def test_a_long_list_with_status_renews_its_deadline_per_window_of_replies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """LIST-STATUS makes the server open every folder: each _STATUS_WINDOW replies renew
    the command deadline, as each window of pipelined STATUS commands had its own; a
    server that stalls for longer than one deadline still ends the command."""
    from mailcli.accounts import imap_guard
    from mailcli.accounts.deadline import DeadlineExceeded
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import FakeImapServer

    monkeypatch.setattr(imap_guard, "MIN_RATE", 1e12)   # no time earned by bytes received
    caps = "* CAPABILITY IMAP4rev1 AUTH=PLAIN LIST-STATUS SPECIAL-USE\r\n{tag} OK done\r\n"
    pause = {"each": 0.25}

    def slow(conn: socket.socket, tag: str, args: str) -> object:
        if "RETURN" not in args:
            conn.sendall(b'* LIST (\\Noselect) "/" ""\r\n' + tag.encode() + b" OK done\r\n")
            return None
        for w in range(3):
            conn.sendall(b"".join(b'* LIST () "/" f%d\r\n* STATUS f%d (MESSAGES 0 UIDNEXT 1 '
                                  b"UIDVALIDITY 1 UNSEEN 0)\r\n" % (i, i)
                                  for i in range(w * 100, w * 100 + 100)))
            time.sleep(pause["each"])
        conn.sendall(tag.encode() + b" OK done\r\n")
        return None

    with FakeImapServer({"CAPABILITY": caps, "LIST": slow}) as server:
        for each, ok in ((0.25, True), (0.6, False)):
            pause["each"] = each
            acc = open_account(account_config("imap", server.port, "u", security="none"), creds("pw"))
            with acc:
                acc._guard.base = 0.4     # the deadline of each command, shortened for the test
                if ok:                    # 0.75 s in all, under 0.4 s per 100 replies
                    assert len(acc.list_folders_with_status()[1]) == 300
                else:
                    with pytest.raises(DeadlineExceeded):
                        acc.list_folders_with_status()


def test_folders_roles_and_non_ascii_names_round_trip(server: Dovecot, user: str) -> None:
    L = server.local_name    # noqa: N806 - Courier and Cyrus keep personal folders under INBOX
    with account(server, user) as acc:
        acc.create_folder(L("Entwürfe/Größe"))
        acc.create_folder(L("日本"))
        folders = {f.name: f for f in acc.list_folders()}
        assert folders["INBOX"].role is FolderRole.INBOX
        if "special-use" in server.has:
            assert folders[L("Sent")].role is FolderRole.SENT and folders[L("Trash")].role is FolderRole.TRASH
        assert {L("Entwürfe/Größe"), L("日本")} <= set(folders)
        # the server holds the real names (decoded from what it lists), not our encoding
        server.deliver(user, message(1), folder="日本")
        listed = server.folder_names(user)
        assert server.spelled("Entwürfe/Größe") in listed and server.spelled("日本") in listed
        assert acc.folder_status(L("日本")).messages == 1
        got: dict[int, bytes] = {}
        acc.fetch_messages(L("日本"), acc.list_uids(L("日本")), lambda u, raw, fl: got.__setitem__(u, raw))
        assert list(got.values()) == [message(1)]
        acc.rename_folder(L("日本"), L("東京/日本"))
        acc.delete_folder(L("Entwürfe/Größe"))
        names = {f.name for f in acc.list_folders()}
        assert L("東京/日本") in names and L("日本") not in names and L("Entwürfe/Größe") not in names
        with pytest.raises(NotFoundError) as ei:
            acc.folder_status(L("Entwürfe/Größe"))
        assert ei.value.exit_code == 4 and "Entwürfe/Größe" in str(ei.value)
        with pytest.raises(ProtocolError, match="CREATE failed") as pe:    # in the server's words
            acc.create_folder(L("東京/日本"))
        assert "\n" not in str(pe.value) and "secs)" not in str(pe.value)


# 5000 messages are seeded per server: Dovecot's two variants and Courier (Maildir seeding);
# Cyrus gets the same code path in the sync tests at smaller sizes.
@pytest.mark.parametrize("server", ["dovecot", "dovecot-minimal", "courier"], indirect=True)
def test_fetch_5000_messages_in_batches_byte_identical(server: Dovecot, user: str,
                                                       record_property) -> None:  # noqa: ANN001
    msgs = [message(i, 60_000 if i % 500 == 0 else 1_000 + (i % 7) * 400) for i in range(5000)]
    server.seed(user, msgs)
    expected = server.messages(user)
    assert len(expected) == 5000
    got: dict[int, bytes] = {}
    order: list[int] = []

    def sink(uid: int, raw: bytes, flags: frozenset[Flag]) -> None:
        order.append(uid)
        got[uid] = raw
        assert Flag.SEEN not in flags

    with account(server, user) as acc:
        uids = acc.list_uids("INBOX")
        assert uids == sorted(expected)
        t0 = time.perf_counter()
        acc.fetch_messages("INBOX", uids + [999_999], sink, batch_size=500)   # a vanished uid is skipped
        elapsed = time.perf_counter() - t0
    # pipelined batches may interleave (Dovecot runs them in parallel): each exactly once
    assert sorted(order) == sorted(expected)
    assert got == expected
    assert all(not f for f in server.flags(user).values()), "BODY.PEEK must not set \\Seen"
    mb = sum(map(len, got.values())) / 1e6
    record_property("fetch_5000_seconds", round(elapsed, 3))
    print(f"\nIMAP fetch ({'full' if is_full(server) else 'minimal'}): 5000 messages, {mb:.1f} MB "
          f"in {elapsed:.2f} s = {5000 / elapsed:.0f} msgs/s")


def test_flags_set_and_read_back(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(5)])
    with account(server, user) as acc:
        uids = acc.list_uids("INBOX")
        before = acc.folder_status("INBOX").highestmodseq   # servers number appends differently
        acc.set_flags("INBOX", uids[:2], add=frozenset({Flag.SEEN, Flag.FLAGGED}))
        acc.set_flags("INBOX", uids[1:2], remove=frozenset({Flag.FLAGGED}))
        acc.set_flags("INBOX", uids[4:], add=frozenset({Flag.ANSWERED, Flag.DRAFT}))
        remote = {r.uid: r for r in acc.fetch_flags("INBOX")}
        assert remote[uids[0]].flags == {Flag.SEEN, Flag.FLAGGED}
        assert remote[uids[1]].flags == {Flag.SEEN}
        assert remote[uids[4]].flags == {Flag.ANSWERED, Flag.DRAFT}
        assert remote[uids[2]].flags == frozenset() and (remote[uids[2]].size or 0) > 0
        assert [r.uid for r in acc.fetch_flags("INBOX", uids[:2])] == uids[:2]
        if "condstore" in server.has:
            assert all(r.modseq for r in remote.values())
            assert before is not None
            changed = acc.fetch_flags("INBOX", changedsince=before)
            assert {r.uid for r in changed} == {uids[0], uids[1], uids[4]}
        st = acc.folder_status("INBOX")
        assert st.messages == 5 and st.unseen == 3
        assert (st.highestmodseq is not None) == ("condstore" in server.has)
    on_server = server.flags(user)
    assert on_server[uids[0]] >= {"\\Seen", "\\Flagged"} and "\\Flagged" not in on_server[uids[1]]


def test_copy_move_delete_append(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(6)])
    expected = server.messages(user)
    with account(server, user) as acc:
        uids = acc.list_uids("INBOX")
        archive_name = server.local_name("Archive")
        acc.create_folder(archive_name)
        copied = acc.copy("INBOX", uids[:2], archive_name)
        moved = acc.move("INBOX", uids[2:4], archive_name)
        if "uidplus" in server.has:
            assert sorted(copied) == uids[:2] and sorted(moved) == uids[2:4]
        archive = server.messages(user, "Archive")
        assert sorted(archive.values()) == sorted(expected[u] for u in uids[:4])
        for old, new in {**copied, **moved}.items():
            assert archive[new] == expected[old]
        assert server.uids(user) == uids[:2] + uids[4:]
        # someone else's \Deleted message must survive our delete
        server.flags_add(user, "INBOX", str(uids[5]), "\\Deleted")
        acc.delete("INBOX", [uids[4]])
        uidplus = "uidplus" in server.has
        assert server.uids(user) == uids[:2] + ([uids[5]] if uidplus else [uids[4], uids[5]])
        if not uidplus:    # no UIDPLUS: ours stays marked rather than expunging theirs
            assert "\\Deleted" in server.flags(user)[uids[4]]
        raw = message(99)
        new_uid = acc.append(server.local_name("Sent"), raw, frozenset({Flag.SEEN}))
        sent = server.messages(user, "Sent")
        assert list(sent.values()) == [raw]
        if uidplus:
            assert new_uid == next(iter(sent))
        assert new_uid in (None, next(iter(sent)))
        assert server.flags(user, "Sent")[next(iter(sent))] - {"\\Recent"} == {"\\Seen"}


def test_quota(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i, 5000) for i in range(20)])
    with account(server, user) as acc:
        if "quota" not in server.has:
            assert Capability.QUOTA not in acc.capabilities
            with pytest.raises(UnsupportedError):
                acc.quota()
            return
        q = acc.quota()
    assert q.account == "work" and q.limit_bytes == 1024 * 1024 * 1024
    assert q.used_bytes is not None and q.used_bytes >= 20 * 5000 * 0.9
    assert q.percent is not None and q.percent < 1


def test_idle_wakes_on_new_message(server: Dovecot, user: str) -> None:
    with account(server, user) as acc:
        t0 = time.monotonic()
        assert acc.idle("INBOX", 0.3) is False
        assert time.monotonic() - t0 < 3
        threading.Timer(0.3, server.deliver, args=(user, message(1))).start()
        t0 = time.monotonic()
        assert acc.idle("INBOX", 20) is True
        assert time.monotonic() - t0 < 10
        assert len(acc.list_uids("INBOX")) == 1     # the connection is usable after IDLE


def _commands(rawlog: Path) -> list[str]:
    """The verbs a session sent, from Dovecot's rawlog (lines: "<time> <tag> <VERB> ...");
    waits (up to 5 s) for the session's LOGOUT to be logged: the client closes right
    after sending it, and Dovecot may log it a moment after the client returned."""
    deadline = time.monotonic() + 5
    while True:
        verbs = _verbs(rawlog)
        if (verbs and verbs[-1] == "LOGOUT") or time.monotonic() > deadline:
            return verbs
        time.sleep(0.02)


def _verbs(rawlog: Path) -> list[str]:
    verbs = []
    for f in sorted(rawlog.glob("*.in")):
        for line in f.read_bytes().decode("utf-8", "replace").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1] not in ("+", "*", "DONE"):
                verb = parts[2].upper()
                verbs.append(verb + (" " + parts[3].upper() if verb == "UID" and len(parts) > 3 else ""))
    return verbs


def test_changes_since_reports_only_changes(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(50)])
    uids = server.uids(user)
    with account(server, user) as acc:
        st = acc.folder_status("INBOX")
        first = acc.changes_since("INBOX", None, None)
        assert first.full and len(first.changed) == 50
    rawlog = server.start_rawlog(user) if server.name == "dovecot" else None   # only Dovecot logs sessions
    with account(server, user) as acc:
        quiet = acc.changes_since("INBOX", st.uidvalidity, st.highestmodseq)
    session = _commands(rawlog) if rawlog else ["ENABLE", "LIST", "SELECT", "LOGOUT"]
    if is_full(server):
        assert quiet.changed == () and quiet.vanished == () and not quiet.full
        # a no-change resync is one SELECT (QRESYNC ...) after login: O(1) commands
        assert session.count("SELECT") == 1 and not any(v.startswith(("UID", "FETCH", "STATUS")) for v in session)
        assert session == ["ENABLE", "LIST", "SELECT", "LOGOUT"], session
    else:
        assert quiet.full and len(quiet.changed) == 50
    server.flags_add(user, "INBOX", str(uids[1]), "\\Flagged")
    server.expunge(user, "INBOX", f"{uids[2]},{uids[3]}")
    with account(server, user) as acc:
        ch = acc.changes_since("INBOX", st.uidvalidity, st.highestmodseq)
    if is_full(server):
        assert not ch.full
        assert [(r.uid, r.flags) for r in ch.changed] == [(uids[1], {Flag.FLAGGED})]
        assert ch.vanished == (uids[2], uids[3])
        assert ch.status.messages == 48 and (ch.status.highestmodseq or 0) > (st.highestmodseq or 0)
        with account(server, user) as acc:   # a different UIDVALIDITY means: start over
            assert acc.changes_since("INBOX", st.uidvalidity + 1, st.highestmodseq).full
    else:
        assert ch.full and {r.uid for r in ch.changed} == set(uids) - {uids[2], uids[3]}
        assert next(r for r in ch.changed if r.uid == uids[1]).flags == {Flag.FLAGGED}


def test_uid_set_helpers() -> None:
    assert uid_set([5, 1, 2, 3, 7, 8, 10]) == "1:3,5,7:8,10"
    assert parse_uid_set("1:3,7,9:8") == [1, 2, 3, 7, 8, 9]
    assert parse_uid_set("5:*", below=8) == [5]
    assert parse_uid_set("1:4294967295", below=4) == [1, 2, 3]


def test_fake_account_behaves_like_dovecot(server: Dovecot, user: str) -> None:
    """accounts.testing.FakeAccount (used by sync and TUI tests) must agree with the real
    server on the resync rules, for the same capability set."""
    from mailcli.accounts.testing import FakeAccount

    with account(server, user) as real:
        fake = FakeAccount(real.capabilities)
    server.seed(user, [message(i) for i in range(4)])
    for i in range(4):
        fake.server_deliver("INBOX", message(i))
    outcomes = []
    for acc, change in ((account(server, user), "real"), (fake, "fake")):
        with acc:
            st = acc.folder_status("INBOX")
            uids = acc.list_uids("INBOX")
            acc.set_flags("INBOX", uids[:1], add=frozenset({Flag.SEEN}))
            acc.delete("INBOX", uids[3:])
            ch = acc.changes_since("INBOX", st.uidvalidity, st.highestmodseq)
            got: list[int] = []
            acc.fetch_messages("INBOX", uids, lambda u, raw, fl: got.append(u))
            outcomes.append((ch.full, sorted((r.uid, r.flags) for r in ch.changed), ch.vanished,
                             ch.status.messages, sorted(got), acc.supports(Capability.QRESYNC)))
    assert outcomes[0] == outcomes[1]
    assert fake.count("changes_since") == 1 and fake.calls[0] == ("connect",)


def test_bulk_fetch_reads_bodies_without_the_generic_parser(dovecot: Dovecot,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Dovecot's FETCH responses take the bytes-level path (imap_wire.fast_fetch_bodies):
    imapclient's response parser is not called for the bodies, and the bytes and flags
    are the server's."""
    import mailcli.accounts.imap as imap_mod

    user = dovecot.add_user()
    dovecot.seed(user, [message(i, 2_000 + i) for i in range(60)])
    dovecot.flags_add(user, "INBOX", "1:10", "\\Flagged")
    expected = dovecot.messages(user)
    calls = []
    real = imap_mod.parse_fetch_response
    monkeypatch.setattr(imap_mod, "parse_fetch_response",
                        lambda *a, **kw: calls.append(1) or real(*a, **kw))
    got: dict[int, tuple[bytes, frozenset[Flag]]] = {}
    with account(dovecot, user) as acc:
        uids = acc.list_uids("INBOX")
        acc.fetch_messages("INBOX", sorted(uids, reverse=True),
                           lambda u, raw, fl: got.__setitem__(u, (raw, fl)), batch_size=25)
    assert {u: raw for u, (raw, _f) in got.items()} == expected
    assert {u for u, (_r, fl) in got.items() if Flag.FLAGGED in fl} == set(sorted(uids)[:10])
    assert calls == []
