"""A resync with nothing changed neither lists the Maildirs nor reads the index rows, and
a neomutt flag rename made right after a sync (same second) is still pushed."""
from __future__ import annotations

import os
import time

import pytest

from mailcli.store import Store, index, reconcile
from tests.integration.mailboxes import data_dir, fetch, local_maildir, message
from tests.servers.dovecot import Dovecot


def test_unchanged_resync_skips_the_maildir_and_a_quick_rename_is_pushed(
        dovecot: Dovecot, write_config, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    user = dovecot.add_user()
    write_config(protocol="imap", name="work", user=user)
    dovecot.seed(user, [message(i) for i in range(1, 6)])
    assert fetch().exit_code == 0
    # a neomutt flag rename in the same second as the sync's end
    with Store(data_dir()) as st:
        p1 = st.path(st.id_by_uid("work", "INBOX", 1))
    md = local_maildir("work")
    p1.rename(md / "cur" / (p1.name.split(":")[0] + ":2,FS"))
    assert fetch().exit_code == 0
    assert {"\\Seen", "\\Flagged"} <= dovecot.flags(user)[1]

    # once the directories are older than 1 s, an unchanged resync lists and reads nothing
    monkeypatch.setattr(reconcile, "_now_ns", lambda: time.time_ns() + 10**10)
    assert fetch().exit_code == 0   # compares the names once, records the stamp
    seen = {"listings": 0, "rows": 0}
    real_scandir, real_rows = os.scandir, index.folder_rows

    def scandir(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        seen["listings"] += 1
        return real_scandir(*a, **kw)

    def folder_rows(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        seen["rows"] += 1
        return real_rows(*a, **kw)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(index, "folder_rows", folder_rows)
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 0
    assert seen == {"listings": 0, "rows": 0}
    # a later neomutt rename is still found
    with Store(data_dir()) as st:
        p2 = st.path(st.id_by_uid("work", "INBOX", 2))
    p2.rename(md / "cur" / (p2.name.split(":")[0] + ":2,F"))
    assert fetch().exit_code == 0
    assert "\\Flagged" in dovecot.flags(user)[2]
