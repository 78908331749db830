"""A resync with nothing changed neither lists the Maildirs nor reads the index rows, and
a neomutt flag rename made right after a sync (same second) is still pushed."""
from __future__ import annotations

import time

import pytest

from mailcli.store import Store, reconcile
from tests.integration.mailboxes import data_dir, fetch, local_maildir, message
from tests.servers.dovecot import Dovecot


def test_unchanged_resync_skips_the_maildir_and_a_quick_rename_is_pushed(
        dovecot: Dovecot, write_config, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
        scan_counts: dict[str, int]) -> None:
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
    scan_counts.update(listings=0, rows=0)
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 0
    assert scan_counts == {"listings": 0, "rows": 0}
    # a later neomutt rename is still found
    with Store(data_dir()) as st:
        p2 = st.path(st.id_by_uid("work", "INBOX", 2))
    p2.rename(md / "cur" / (p2.name.split(":")[0] + ":2,F"))
    assert fetch().exit_code == 0
    assert "\\Flagged" in dovecot.flags(user)[2]


# what a `mailcli fetch` with nothing to do must not load (start-up time, issue 15): the
# planner, queued-action replay, uploads, search, rebuild, POP3, the reading/changing/
# contacts parts of the service, Sent copies, logging.handlers, difflib
NOT_ON_THE_NO_CHANGE_PATH = (
    "mailcli.sync.plan", "mailcli.sync.actions", "mailcli.sync.queued", "mailcli.store.upload",
    "mailcli.store.search", "mailcli.store.rebuild", "mailcli.sync.pop3",
    "mailcli.service.reading", "mailcli.service.changing", "mailcli.service.contacts",
    "mailcli.service.folders", "mailcli.service.drafts", "mailcli.send.sent",
    "mailcli.send.compose", "logging.handlers", "difflib",
)

_DUMP_MODULES = """\
import sys
from mailcli.cli.main import main
sys.argv[0] = "mailcli"
try:
    code = main()
except SystemExit as exc:
    code = exc.code
print(" ".join(sorted(sys.modules)))
sys.exit(code)
"""


def test_a_no_change_cli_fetch_loads_no_planner_search_or_sending_modules(
        dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    import subprocess
    import sys

    user = dovecot.add_user()
    write_config(protocol="imap", name="work", user=user)
    dovecot.seed(user, [message(i) for i in range(1, 4)])
    assert fetch().exit_code == 0
    proc = subprocess.run([sys.executable, "-c", _DUMP_MODULES, "fetch", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.split())
    assert "mailcli.sync.engine" in loaded            # it did sync
    assert sorted(loaded & set(NOT_ON_THE_NO_CHANGE_PATH)) == []
    # ...and with something to do, the same command loads them and does it
    dovecot.deliver(user, message(9))   # through Dovecot (LDA): seen at once
    proc = subprocess.run([sys.executable, "-c", _DUMP_MODULES, "fetch", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert {"mailcli.sync.plan", "mailcli.sync.actions"} <= set(proc.stdout.split())
    with Store(data_dir()) as st:
        assert st.count("work") == 4
