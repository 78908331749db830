"""SyncingMixin against Dovecot: push_now, quota, account_test, unknown accounts."""
from __future__ import annotations

import pytest

from mailcli.errors import AuthError, NotFoundError
from mailcli.store import Store
from tests.integration.mailboxes import data_dir, fetch, message, service
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


def test_push_now_applies_a_queued_delete_at_once(dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    u = dovecot.add_user()
    write_config(protocol="imap", name="work", user=u)
    dovecot.seed(u, [message(i) for i in range(3)])
    fetch()
    with Store(data_dir()) as st:
        mid = st.id_by_uid("work", "INBOX", 2)
    svc = service()
    try:
        svc.delete([str(mid)], now=True)
    finally:
        svc.close()
    assert sorted(dovecot.messages(u)) == [1, 3]


def test_push_now_raises_the_accounts_error(dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    write_config(protocol="imap", name="work", user="nosuchuser")
    svc = service()
    try:
        with pytest.raises(AuthError):
            svc.push_now("work")
    finally:
        svc.close()


def test_quota_and_account_test(dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    u, p = dovecot.add_user(), dovecot.add_user()
    write_config(protocol="imap", name="work", user=u)
    write_config(protocol="pop3", name="home", user=p)
    dovecot.seed(p, [message(i) for i in range(2)])
    svc = service()
    try:
        quotas = {q.account: q for q in svc.quota()}
        assert quotas["work"].limit_bytes == 1024 * 1024 * 1024
        assert quotas["home"].messages == 2 and quotas["home"].used_bytes
        info = svc.account_test("work")
        assert info["protocol"] == "imap" and info["folders"] >= 4
        assert "IMAP4REV1" in info["capabilities"] and info["quota"]["limit_bytes"]
        assert svc.account_test("home")["protocol"] == "pop3"
        with pytest.raises(NotFoundError):
            svc.fetch(["nope"])
    finally:
        svc.close()
