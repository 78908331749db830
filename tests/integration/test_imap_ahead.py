"""A folder's first SELECT and scan sent ahead (accounts/imap_ahead.py): behind the
listing (INBOX) and behind the previous folder's last body FETCH, on real servers; the
answers are the same as asked later, a wrong hint changes nothing, and a scan is never
used when anything else was sent in between (it could be older than our own change)."""
from __future__ import annotations

import imaplib

import pytest

from mailcli.accounts.imap import ImapAccount
from mailcli.accounts.registry import open_account
from tests.fakes.accounts import creds, dovecot_config
from tests.integration.mailboxes import assert_cache_matches, fetch, message
from tests.servers.dovecot import PASSWORD, Dovecot

pytestmark = pytest.mark.dovecot


@pytest.fixture(params=["dovecot", "dovecot-minimal", "cyrus", "courier"])
def server(request: pytest.FixtureRequest) -> Dovecot:
    return request.getfixturevalue(request.param.replace("-", "_"))


class Wire:
    """What the client writes, one entry per write, with marks between (no mock: the
    real send is called)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, list[str]]] = []
        real = imaplib.IMAP4.send

        def send(imap: imaplib.IMAP4, data: bytes) -> None:
            lines = [line.decode("utf-8", "replace").split(" ", 1)[1]
                     for line in data.split(b"\r\n") if b" " in line]
            self.events.append(("write", lines))
            real(imap, data)

        monkeypatch.setattr(imaplib.IMAP4, "send", send)

    def mark(self, what: str) -> None:
        self.events.append((what, []))

    def writes(self) -> list[list[str]]:
        return [lines for kind, lines in self.events if kind == "write"]

    def index(self, pred: object) -> int:
        return next(i for i, (kind, lines) in enumerate(self.events)
                    if kind == "write" and any(pred(line) for line in lines))  # type: ignore[operator]


def test_a_first_sync_sends_each_folders_select_ahead(server: Dovecot, write_config,  # noqa: ANN001
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    user = server.add_user()
    write_config(protocol="imap", name="work", user=user, server=server)
    server.seed(user, [message(i) for i in range(1, 251)])
    folders = ["Archiv", "Belege", "Leer"]
    for f in folders:
        server.create_folder(user, f)
    server.seed(user, [message(i, "a") for i in range(1, 31)], folder="Archiv")
    server.seed(user, [message(i, "g") for i in range(1, 6)], folder="Belege")
    wire = Wire(monkeypatch)
    real_fetch = ImapAccount.fetch_messages

    def fetch_messages(acc: ImapAccount, folder: str, *a: object, **k: object) -> None:
        try:
            real_fetch(acc, folder, *a, **k)   # type: ignore[arg-type]
        finally:
            wire.mark(f"fetched {folder}")

    monkeypatch.setattr(ImapAccount, "fetch_messages", fetch_messages)
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 285, r.accounts[0].error
    for f in ("INBOX", "Archiv", "Belege", "Leer"):
        assert_cache_matches(server, user, "work", f)
    writes = wire.writes()
    listing = next(w for w in writes if any(line.startswith('LIST "" "*"') for line in w))
    assert 'SELECT "INBOX"' in listing and listing[-1].startswith("UID FETCH 1:* ("), listing
    # Archiv's SELECT went out before INBOX's download was over, Belege's before
    # Archiv's (the folders sort so: INBOX first, then by name; Drafts, Leer, Sent and
    # Trash follow); nothing was selected a second time
    sel = {f: wire.index(lambda line, f=f: line.startswith("SELECT") and f in line)
           for f in ("Archiv", "Belege")}
    done = {e[0].split(" ", 1)[1]: i for i, e in enumerate(wire.events) if e[0].startswith("fetched")}
    L = server.local_name   # noqa: N806
    assert sel["Archiv"] < done["INBOX"] and sel["Belege"] < done[L("Archiv")], wire.events
    selects = [line for w in writes for line in w if line.startswith("SELECT")]
    assert len(selects) == len(set(selects)), selects
    # the empty folder needed no SELECT (its STATUS came with the listing) where the
    # server has LIST-STATUS; no FETCH was ever refused on the way
    if {"list-status", "special-use"} <= server.has:   # (the engine's condition for it)
        assert not any("Leer" in s for s in selects), selects
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 0


def test_a_scan_sent_ahead_is_never_used_after_another_command(dovecot: Dovecot) -> None:
    """The hint names Archiv and a download sends its pair; then an APPEND to Archiv goes
    out first (our own change). The scan sent ahead is older than that APPEND: it is
    read and dropped, and changes_since asks again, so the new message is there."""
    user = dovecot.add_user()
    dovecot.create_folder(user, "Archiv")
    dovecot.seed(user, [message(i) for i in range(1, 4)])
    dovecot.seed(user, [message(i, "a") for i in range(1, 3)], folder="Archiv")
    with open_account(dovecot_config(dovecot, "imap", user, "tls"), creds(PASSWORD)) as acc:
        assert isinstance(acc, ImapAccount)
        got: list[int] = []
        acc.open_ahead("Archiv")
        acc.fetch_messages("INBOX", [3, 2, 1], lambda uid, raw, flags: got.append(uid))
        assert sorted(got) == [1, 2, 3] and acc._ahead is not None and acc._ahead[0] == "Archiv"
        uid = acc.append("Archiv", message(9, "new"))
        assert acc._ahead is None
        changes = acc.changes_since("Archiv", None, None)
        assert sorted(r.uid for r in changes.changed) == [1, 2, uid or 3]
        assert changes.status.messages == 3 and changes.full
        # a hint for another folder than the one asked: that one is answered, right
        acc.open_ahead("INBOX")
        acc.fetch_messages("Archiv", [1], lambda *a: None)
        changes = acc.changes_since("Archiv", None, None)
        assert changes.status.name == "Archiv" and len(changes.changed) == 3
        assert acc.list_uids("INBOX") == [1, 2, 3]


def test_a_hint_the_listing_does_not_use_is_harmless(dovecot: Dovecot) -> None:
    """INBOX's pair goes out with the listing; a STATUS of another folder comes first
    (read and dropped), then INBOX is asked: same answers as without a hint."""
    user = dovecot.add_user()
    dovecot.create_folder(user, "Archiv")
    dovecot.seed(user, [message(i) for i in range(1, 4)])
    with open_account(dovecot_config(dovecot, "imap", user, "tls"), creds(PASSWORD)) as acc:
        assert isinstance(acc, ImapAccount)
        acc.open_ahead("INBOX")
        names = {f.name for f in acc.list_folders()}
        assert {"INBOX", "Archiv"} <= names and acc._ahead is not None
        assert acc.folder_status("Archiv").messages == 0
        assert acc._ahead is None
        changes = acc.changes_since("INBOX", None, None)
        assert [r.uid for r in changes.changed] == [1, 2, 3] and changes.status.messages == 3
        # a hint for a folder that does not exist: its NO is read with the next command
        acc.open_ahead("Nirgends")
        acc.fetch_messages("INBOX", [1], lambda *a: None)
        assert acc.list_uids("INBOX") == [1, 2, 3]


def test_a_refused_batch_reads_the_rest_before_failing() -> None:
    """A UID FETCH answered NO in the middle of the pipeline: the batches in flight are
    still read (and delivered), no more are sent, then the error; the next command reads
    its own answers, not the rest of the download's."""
    from mailcli.errors import ProtocolError
    from tests.fakes.accounts import account_config
    from tests.fakes.imap import MESSAGE, FakeImapServer

    def body(conn, tag: str, args: str) -> None:  # noqa: ANN001
        uid = int(args.split()[0].split(":")[0])
        if uid == 2:
            conn.sendall(f"{tag} NO [UNAVAILABLE] not today\r\n".encode())
            return
        conn.sendall(b"* %d FETCH (UID %d FLAGS () BODY[] {%d}\r\n" % (uid, uid, len(MESSAGE))
                     + MESSAGE + b")\r\n" + tag.encode() + b" OK done\r\n")

    search = "* SEARCH 1 2 3 4 5\r\n{tag} OK done\r\n"
    with FakeImapServer({"UID FETCH BODY": body, "UID SEARCH": search}) as server:
        with open_account(account_config("imap", server.port, "u", security="none"), creds("pw")) as acc:
            got: list[int] = []
            with pytest.raises(ProtocolError, match="not today"):
                acc.fetch_messages("INBOX", [1, 2, 3, 4, 5], lambda uid, raw, f: got.append(uid),
                                   batch_size=1)
            assert got == [1, 3, 4]       # in flight with the refused one: read, kept
            assert acc.list_uids("INBOX") == [1, 2, 3, 4, 5]
        fetches = [c for c in server.received if "BODY.PEEK" in c]
    assert len(fetches) == 4, fetches     # 1-3, then 4 as 1 was done; none after the NO
