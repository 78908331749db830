"""`mailcli watch` against a real Dovecot (IDLE and NOTIFY): new mail appended by another
client is cached and announced (event + hook with the list JSON and the environment)
within seconds, in INBOX and in a second watched folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.mailboxes import message, run_cli
from tests.servers.dovecot import Dovecot
from tests.watch.helpers import WatchProcess, append, hook_command, hook_runs, wait_for

pytestmark = pytest.mark.dovecot


def test_new_mail_in_inbox_and_a_second_watched_folder_is_cached_and_announced(
        dovecot: Dovecot, write_config, tmp_path: Path) -> None:  # noqa: ANN001
    user = dovecot.add_user()
    dovecot.create_folder(user, "Lists/dev")
    dovecot.seed(user, [message(0, "old")])
    command, hook_out = hook_command(tmp_path)
    write_config(user=user, extra='watch_folders = ["INBOX", "Lists/*"]\npoll_interval = "2s"\n'
                 f"on_new_mail = '{command}'\n")
    with WatchProcess() as w:
        w.wait("started", timeout=20)
        assert w.of("started")[0]["mode"] == "notify"
        synced = w.wait("synced")[0]
        assert synced["new"] == 1 and synced["account"] == "work"
        assert not w.of("new_mail")          # the first download of a folder is not news
        append(dovecot, user, message(1, "fresh"))
        got = w.wait("new_mail", timeout=5, folder="INBOX")[0]
        [msg] = got["messages"]
        assert msg["subject"] == "fresh 1" and msg["folder"] == "INBOX"
        assert set(msg) >= {"id", "account", "folder", "uid", "message_id", "date", "from", "to",
                            "cc", "subject", "flags", "size", "has_attachments"}
        append(dovecot, user, message(2, "list"), folder="Lists/dev")
        got = w.wait("new_mail", timeout=5, folder="Lists/dev")[0]
        assert [m["subject"] for m in got["messages"]] == ["list 2"]
        runs = wait_for(lambda: len(hook_runs(hook_out)) >= 2 and hook_runs(hook_out), 5, "hook")
        by_folder = {r["folder"]: r for r in runs}
        assert by_folder["INBOX"]["account"] == "work" and by_folder["INBOX"]["count"] == "1"
        assert [m["subject"] for m in by_folder["INBOX"]["stdin"]] == ["fresh 1"]
        assert by_folder["Lists/dev"]["stdin"][0]["id"] == got["messages"][0]["id"]
        # in the cache: `mailcli list` sees it while watch runs
        listed = run_cli("list", "--json", "-f", "Lists/dev")
        assert '"list 2"' in listed.stdout
        code, took = w.terminate()
    assert code == 0 and took < 5
    assert w.of("stopped") and not w.of("disconnected")
    assert len(hook_runs(hook_out)) == 2          # each batch once
