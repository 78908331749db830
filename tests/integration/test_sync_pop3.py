"""POP3 download and deletion policy against real POP3 servers (Dovecot, Cyrus, Courier)."""
from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from mailcli.store import Store
from tests.integration.mailboxes import data_dir, fetch, local_maildir, maildir_hashes, message, service
from tests.conftest import each_server
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

# every test here using mail_server/mail_user/write_config runs once per server
mail_server = each_server("dovecot", "cyrus", "courier")


def hashes(raws) -> Counter[str]:  # noqa: ANN001
    return Counter(hashlib.sha256(r).hexdigest() for r in raws)


@pytest.fixture
def pop(mail_server: Dovecot, write_config):  # noqa: ANN001, ANN201
    """pop(extra="...") -> user: a POP3 account "home" with that policy config."""
    def make(extra: str = "", n: int = 5) -> str:
        u = mail_server.add_user()
        write_config(protocol="pop3", name="home", user=u, extra=extra)
        mail_server.seed(u, [message(i, "pop") for i in range(1, n + 1)])
        return u
    return make


def test_delete_mode_downloads_everything_once_then_empties_the_server(mail_server: Dovecot, pop) -> None:  # noqa: ANN001
    u = pop()
    want = hashes(mail_server.messages(u).values())
    r = fetch()
    assert r.exit_code == 0 and (r.accounts[0].new, r.accounts[0].deleted) == (5, 5)
    assert mail_server.count(u) == 0
    assert maildir_hashes(local_maildir("home")) == want
    mail_server.deliver(u, message(6, "pop"))
    r = fetch()
    assert r.accounts[0].new == 1 and mail_server.count(u) == 0
    assert sum(maildir_hashes(local_maildir("home")).values()) == 6


def test_keep_mode_never_downloads_twice(mail_server: Dovecot, pop) -> None:  # noqa: ANN001
    u = pop("leave_on_server = true\n")
    assert fetch().accounts[0].new == 5
    assert fetch().accounts[0].new == 0
    assert mail_server.count(u) == 5 and sum(maildir_hashes(local_maildir("home")).values()) == 5


def test_keep_days_deletes_old_downloads_only(mail_server: Dovecot, pop) -> None:  # noqa: ANN001
    u = pop("leave_on_server = true\nkeep_days = 7\n")
    fetch()
    mail_server.deliver(u, message(6, "pop"))
    with Store(data_dir()) as st, st.db.write() as conn:
        conn.execute("UPDATE pop_ledger SET downloaded_at = downloaded_at - 8 * 86400")
    r = fetch()
    assert (r.accounts[0].new, r.accounts[0].deleted) == (1, 5)
    assert list(mail_server.messages(u).values()) == [message(6, "pop")]
    assert sum(maildir_hashes(local_maildir("home")).values()) == 6


def test_delete_when_deleted_locally(mail_server: Dovecot, pop) -> None:  # noqa: ANN001
    u = pop("leave_on_server = true\ndelete_when_deleted_locally = true\n")
    fetch()
    with Store(data_dir()) as st:
        rows = st.message_rows("home", "INBOX")
        victim = st.read_raw(rows[0].id)
        other = st.path(rows[1].id)
        other_raw = other.read_bytes()
    svc = service()
    try:
        svc.delete([str(rows[0].id)])                   # mailcli delete
    finally:
        svc.close()
    other.unlink()                                      # deleted in neomutt
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].deleted == 2
    left = list(mail_server.messages(u).values())
    assert len(left) == 3 and victim not in left and other_raw not in left
    assert fetch().accounts[0].new == 0


def test_max_message_size_headers_only_then_fetch_full(mail_server: Dovecot, pop) -> None:  # noqa: ANN001
    u = pop('max_message_size = "2KB"\n', n=2)
    big = message(3, "big", lines=200)
    mail_server.deliver(u, big)
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 3
    assert mail_server.count(u) == 1                        # the partial one stays on the server
    with Store(data_dir()) as st:
        row = next(r for r in st.message_rows("home", "INBOX") if r.partial)
        assert st.get(row.id).subject == "big 3"
        assert len(st.read_raw(row.id)) < 1000
    svc = service()
    try:
        env = svc.fetch_full(str(row.id))
    finally:
        svc.close()
    assert not env.partial
    with Store(data_dir()) as st:
        assert st.read_raw(row.id) == big
    fetch()
    assert mail_server.count(u) == 0
