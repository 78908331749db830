"""Bugs that only some servers show (issue 16): each test names the server it needs, and
mailcli must handle the behaviour without knowing which server it talks to."""
from __future__ import annotations

import json

import pytest

from mailcli.model import Flag
from mailcli.store import Store
from tests.integration.mailboxes import assert_cache_matches, data_dir, fetch, local_maildir, message, service
from tests.servers.cyrus import SHARED_FOLDER, SHARED_OWNER

pytestmark = pytest.mark.dovecot


@pytest.mark.parametrize("mail_server", ["cyrus", "cyrus-alt"], indirect=True)
def test_read_only_shared_folder_is_pulled_and_the_other_folders_still_sync(mail_server, write_config) -> None:  # noqa: ANN001
    """Cyrus answers SELECT of a folder shared with `lr` rights with OK [READ-ONLY]; that
    stopped the whole account (exit 75) and the folders after it never synced again. Now it
    is read (pulled) like any folder, the other folders sync on; a local change there is not
    pushed (the server would refuse it and every later fetch exited 1): it stays queued and
    is reported as one warning per run, exit 0."""
    server = mail_server
    user = server.add_user(shared="lr")
    write_config(protocol="imap", name="work", user=user, server=server)
    server.seed(user, [message(i) for i in range(1, 4)])
    server.seed(user, [message(i, "z") for i in range(1, 3)], folder="zz-after")
    shared = server.shared_folder_for_user().replace(server.sep, "/")
    r = fetch()
    assert r.exit_code == 0, r.accounts[0].error
    assert_cache_matches(server, user, "work")
    assert_cache_matches(server, user, "work", "zz-after")
    with Store(data_dir()) as st:
        rows = st.message_rows("work", shared)
    assert len(rows) == 2                                     # pulled
    svc = service()
    try:
        svc.flag([str(rows[0].id)], add=frozenset({Flag.FLAGGED}))
        svc.delete([str(rows[1].id)])
    finally:
        svc.close()
    for n in (9, 10):
        server.deliver(user, message(n))
        server.deliver(user, message(n, "z"), folder="zz-after")
        r = fetch()
        rep = r.accounts[0]
        assert r.exit_code == 0 and not rep.error, rep.error
        assert_cache_matches(server, user, "work")
        assert_cache_matches(server, user, "work", "zz-after")
        # one warning per run naming the folder; not an error
        warned = [n for n in rep.notes if shared in n and "read-only" in n]
        assert len(warned) == 1 and "2 local change(s) not pushed" in warned[0], rep.notes
    # not made on the server; kept locally (the flag set, the deleted copy not back)
    sharer = server.flags(SHARED_OWNER, SHARED_FOLDER)
    assert len(sharer) == 2 and not any("\\Flagged" in f or "\\Deleted" in f for f in sharer.values())
    with Store(data_dir()) as st:
        after = st.message_rows("work", shared)
    assert [r.id for r in after] == [rows[0].id] and Flag.FLAGGED in after[0].flags


@pytest.fixture(scope="module")
def cyrus_login_delay(dovecot):  # noqa: ANN001, ANN201
    """Cyrus with Debian's default popminpoll: 1 (a second POP3 login within a minute is
    refused with -ERR [LOGIN-DELAY])."""
    from tests.conftest import _start_other

    server = _start_other("cyrus", dovecot, popminpoll=1)
    yield server
    server.stop()


@pytest.mark.parametrize("mail_server", ["cyrus-login-delay"], indirect=True)
def test_pop3_login_delay_is_temporary_in_the_servers_words(mail_server, write_config) -> None:  # noqa: ANN001
    """-ERR [LOGIN-DELAY] (RFC 2449; [IN-USE], [SYS/TEMP] from RFC 3206 alike) read as a
    wrong password: exit 3. It is temporary: exit 75, the server's words kept."""
    from tests.integration.mailboxes import run_cli

    server = mail_server
    user = server.add_user()
    write_config(protocol="pop3", name="home", user=user, server=server)
    server.seed(user, [message(1, "pop")])
    r = fetch()
    assert r.exit_code == 0, r.accounts[0].error
    p = run_cli("fetch")
    assert p.returncode == 75, p.stderr
    assert "LOGIN-DELAY" in p.stderr and "password" not in p.stderr.lower()
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) <= 2


@pytest.mark.parametrize("reply, temporary", [
    ("[IN-USE] mailbox locked by another session", True),
    ("[SYS/TEMP] try again later", True),
    ("[LOGIN-DELAY] wait 5 minutes", True),
    ("[AUTH] invalid password", False),
    ("[SYS/PERM] account disabled", False),
])
def test_pop3_temporary_login_refusals_are_not_a_wrong_password(reply: str, temporary: bool) -> None:
    from mailcli.accounts.pop3 import Pop3Account
    from mailcli.errors import AuthError, TemporaryError
    from tests.fakes.accounts import account_config
    from tests.fakes.pop3 import PASSWORD as FAKE_PASSWORD, FakePop3Server

    with FakePop3Server([message(1)], pass_error=reply) as server:
        acc = Pop3Account(account_config("pop3", server.port, "me", security="none"), FAKE_PASSWORD)
        with pytest.raises(TemporaryError if temporary else AuthError) as ei:
            acc.connect()
    assert ei.value.exit_code == (75 if temporary else 3) and reply in str(ei.value)


@pytest.mark.parametrize("mail_server", ["cyrus"], indirect=True)   # a refused login costs seconds
def test_quota_prints_what_worked_and_reports_the_failing_account(mail_server, write_config,  # noqa: ANN001
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """One good and one wrong-password account: `quota` exited 3 and printed nothing."""
    from tests.helpers import invoke

    write_config(name="good")
    write_config(name="bad")
    cfg = data_dir().parent / "config.toml"
    text = cfg.read_text().split("[accounts.bad]")
    cfg.write_text(text[0] + "[accounts.bad]" + text[1].replace('password_env = "MAILCLI_TEST_PASSWORD"',
                                                                  'password_env = "BAD_PW"'))
    monkeypatch.setenv("BAD_PW", "wrong")
    r = invoke("quota")
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert "good" in r.stdout and "bad" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailcli: error: bad: ") and "refused the login" in lines[0]
    r = invoke("quota", "--json")
    assert r.exit_code == 1 and [q["account"] for q in json.loads(r.stdout)] == ["good"]


@pytest.mark.parametrize("mail_server", ["courier"], indirect=True)
def test_a_parent_folder_deleted_with_a_child_left_noselect_is_removed_locally(mail_server, write_config) -> None:  # noqa: ANN001
    """Courier lists a deleted parent that still has a child as \\Noselect. mailcli kept the
    local folder and its mail for ever, and a message moved out of it locally made every
    fetch exit 1 ('folder ... does not exist') and never reached the server. It is treated
    as removed (the removal's protections apply): the move becomes an upload, the cached
    copies go, the child syncs on."""
    server = mail_server
    user = server.add_user()
    write_config(protocol="imap", name="work", user=user, server=server)
    server.seed(user, [message(i, "p") for i in range(1, 4)], folder="Parent")
    server.seed(user, [message(1, "c")], folder="Parent/Child")
    parent, child = server.local_name("Parent"), server.local_name("Parent/Child")
    assert fetch().exit_code == 0
    with Store(data_dir()) as st:
        moved = st.message_rows("work", parent)[0]
    svc = service()
    try:
        svc.move([str(moved.id)], "INBOX")
    finally:
        svc.close()
    server.delete_folder(user, "Parent")
    server.deliver(user, message(2, "c"), folder="Parent/Child")
    for _ in range(2):
        r = fetch()
        assert r.exit_code == 0, r.accounts[0].error
    with Store(data_dir()) as st:
        assert st.message_rows("work", parent) == []
        assert parent not in {s.name for s in st.folder_states("work")}
    assert_cache_matches(server, user, "work")                   # the moved message uploaded
    assert_cache_matches(server, user, "work", "Parent/Child")
    assert list(server.messages(user).values()) == [message(1, "p")]
    assert child in {s.name for s in Store(data_dir()).folder_states("work")}


@pytest.mark.parametrize("mail_server", ["dovecot", "cyrus", "courier"], indirect=True)
def test_a_message_saved_with_lf_line_ends_is_uploaded_and_cached_as_the_server_keeps_it(mail_server, write_config) -> None:  # noqa: ANN001
    """A message another program drops into the cache with LF line ends (Python `mailbox`,
    some MUAs) was APPENDed as it was; the server keeps CRLF (Cyrus refused bare LFs), the
    cache kept LF: no longer the server's bytes. Now it is uploaded with CRLF and the
    cached file is those bytes, with its UID."""
    server = mail_server
    user = server.add_user()
    write_config(protocol="imap", name="work", user=user, server=server)
    server.seed(user, [message(1)])
    assert fetch().exit_code == 0
    lf = message(2, "lf").replace(b"\r\n", b"\n")
    new = local_maildir("work") / "new" / "1700000000.lf.host"
    new.write_bytes(lf)
    new.chmod(0o600)
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].uploaded == 1, r.accounts[0].error
    assert sorted(server.messages(user).values()) == sorted([message(1), message(2, "lf")])
    assert_cache_matches(server, user, "work")
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 0 and r.accounts[0].uploaded == 0
    assert_cache_matches(server, user, "work")


def _odd_messages(server) -> list[bytes]:  # noqa: ANN001
    """Messages the Message-ID + size rematch misses: no Message-ID, and (where the server
    accepts it; Cyrus refuses the APPEND) a malformed header line before the Message-ID
    (mailcli's parser stopped there, servers read on)."""
    no_id = message(3, "a").replace(b"Message-ID: <a3@example.test>\r\n", b"")
    bad = message(4, "a").replace(b"To: r@example.test\r\n",
                                  b"To: r@example.test\r\nthis line has no colon\r\n")
    return [message(1, "a"), message(2, "a"), no_id] + ([bad] if server.name != "cyrus" else [])


@pytest.mark.parametrize("mail_server", ["cyrus", "courier"], indirect=True)
def test_a_new_uidvalidity_leaves_no_duplicates(mail_server, write_config) -> None:  # noqa: ANN001
    """The folder is recreated on the server with the same messages (new UIDVALIDITY, as a
    Cyrus reset or a deleted courierimapuiddb gives): the rematch by Message-ID + size
    missed messages whose headers mailcli read differently or whose cached bytes had LF
    line ends (uploaded before that was fixed), and they stayed twice. Local leftovers
    whose bytes equal a fresh copy are dropped (their flags kept); what matches nothing is
    reported."""
    server = mail_server
    user = server.add_user()
    write_config(protocol="imap", name="work", user=user, server=server)
    msgs = _odd_messages(server)
    server.seed(user, msgs, folder="Arch")
    arch = server.local_name("Arch")
    assert fetch().exit_code == 0
    with Store(data_dir()) as st:
        rows = {st.read_raw(r.id): r.id for r in st.message_rows("work", arch)}
        lf_id = rows[message(2, "a")]
        st.replace_raw(lf_id, message(2, "a").replace(b"\r\n", b"\n"))   # as an old upload left it
        st.set_flags(lf_id, {Flag.FLAGGED})
        local_only = st.deliver("work", arch, message(7, "gone"))           # matches nothing
    server.delete_folder(user, "Arch")
    server.seed(user, msgs, folder="Arch")
    r = fetch()
    rep = r.accounts[0]
    assert r.exit_code == 0, rep.error
    with Store(data_dir()) as st:
        rows = st.message_rows("work", arch)
        assert sorted(st.read_raw(x.id) for x in rows if x.uid is not None) == sorted(
            server.messages(user, "Arch").values())
        assert [x.id for x in rows if x.uid is None] == [local_only]      # kept, reported
        flagged = [st.read_raw(x.id) for x in rows if Flag.FLAGGED in x.flags]
    assert flagged == [message(2, "a")]                                   # the flag carried over
    assert any("match no server message" in n and "1 " in n for n in rep.notes), rep.notes
    assert fetch().exit_code == 0
    assert server.flags(user, "Arch")[sorted(server.messages(user, "Arch"))[1]] >= {"\\Flagged"}


@pytest.mark.parametrize("mail_server", ["courier"], indirect=True)
def test_a_removed_folder_leaves_no_empty_directories(mail_server, write_config) -> None:  # noqa: ANN001
    """Courier keeps INBOX.A.B without a folder INBOX.A; when A/B was removed on the server
    the local directories .../A/B and .../A stayed, empty."""
    server = mail_server
    user = server.add_user()
    write_config(protocol="imap", name="work", user=user, server=server)
    server.seed(user, [message(1, "b")], folder="A/B")
    assert fetch().exit_code == 0
    deep = local_maildir("work", server.local_name("A/B"))
    assert (deep / "cur").is_dir()
    server.delete_folder(user, "A/B")
    r = fetch()
    assert r.exit_code == 0, r.accounts[0].error
    assert not deep.exists() and not deep.parent.exists()
    assert local_maildir("work").is_dir()
