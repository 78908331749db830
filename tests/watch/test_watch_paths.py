"""The other ways of waiting: IDLE per folder (a server without NOTIFY), STATUS polling (a
server without IDLE) and POP3 polling; each caches and announces new mail by itself."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.mailboxes import message
from tests.servers.dovecot import Dovecot
from tests.watch.helpers import WatchProcess, append, hook_command, hook_runs, wait_for

pytestmark = pytest.mark.dovecot


def test_idle_on_each_watched_folder_without_notify(dovecot_minimal: Dovecot, write_config,
                                                    tmp_path: Path) -> None:  # noqa: ANN001
    server = dovecot_minimal
    user = server.add_user()
    server.create_folder(user, "Lists/dev")
    write_config(user=user, server=server,
                 extra='watch_folders = ["INBOX", "Lists/dev"]\npoll_interval = "30s"\n')
    with WatchProcess() as w:
        assert w.wait("started", timeout=20)[0]["mode"] == "idle"
        append(server, user, message(1, "inbox"))
        assert w.wait("new_mail", timeout=5, folder="INBOX")[0]["messages"][0]["subject"] == "inbox 1"
        append(server, user, message(2, "dev"), folder="Lists/dev")
        got = w.wait("new_mail", timeout=5, folder="Lists/dev")[0]
        assert [m["subject"] for m in got["messages"]] == ["dev 2"]
        code, took = w.terminate()
    assert code == 0 and took < 5
    assert not w.of("disconnected")


def test_a_server_without_idle_is_polled(dovecot_no_push: Dovecot, write_config,
                                         tmp_path: Path) -> None:  # noqa: ANN001
    server = dovecot_no_push
    user = server.add_user()
    server.create_folder(user, "Other")
    command, out = hook_command(tmp_path)
    write_config(user=user, server=server, extra=f'poll_interval = "1s"\non_new_mail = \'{command}\'\n')
    with WatchProcess() as w:
        assert w.wait("started", timeout=20)[0]["mode"] == "poll"
        append(server, user, message(1, "polled"))
        got = w.wait("new_mail", timeout=5, folder="INBOX")[0]
        assert [m["subject"] for m in got["messages"]] == ["polled 1"]
        # a folder outside watch_folders is synced as well, just not announced
        append(server, user, message(2, "other"), folder="Other")
        w.wait("synced", timeout=5, folder="Other")
        runs = wait_for(lambda: hook_runs(out), 5, "the hook")
        assert runs[0]["folder"] == "INBOX" and runs[0]["count"] == "1"
        assert w.terminate()[0] == 0
    assert not w.of("new_mail", folder="Other") and not w.of("disconnected")


def test_pop3_is_polled_and_announced(dovecot: Dovecot, write_config,
                                      tmp_path: Path) -> None:  # noqa: ANN001
    user = dovecot.add_user()
    dovecot.seed(user, [message(0, "before")])
    command, out = hook_command(tmp_path)
    write_config(protocol="pop3", user=user,
                 extra='poll_interval = "1s"\nleave_on_server = true\n',
                 general=f"[general]\non_new_mail = '{command}'\n")
    with WatchProcess() as w:
        assert w.wait("started", timeout=20)[0]["mode"] == "poll"
        assert w.of("synced")[0]["new"] == 1 and not w.of("new_mail")
        dovecot.deliver(user, message(1, "pop"))
        got = w.wait("new_mail", timeout=6)[0]
        assert got["folder"] == "INBOX" and [m["subject"] for m in got["messages"]] == ["pop 1"]
        runs = wait_for(lambda: hook_runs(out), 5, "the hook")
        assert runs[0]["account"] == "work" and runs[0]["stdin"][0]["subject"] == "pop 1"
        assert w.terminate()[0] == 0


def test_notify_offered_but_refused_falls_back_to_idle(dovecot: Dovecot, write_config,
                                                       tmp_path: Path) -> None:  # noqa: ANN001
    """A server (here: a proxy rewriting Dovecot's answer) that offers NOTIFY and then says
    NO to NOTIFY SET: the account waits with IDLE instead, without a disconnect."""
    import re

    from tests.fakes.proxy import FaultProxy

    def refuse(_n: int, data: bytes) -> bytes:
        return re.sub(rb"(\w+) OK NOTIFY[^\r\n]*", rb"\1 NO [SERVERBUG] NOTIFY not now", data)

    user = dovecot.add_user()
    spec = write_config(user=user, security="none", extra='poll_interval = "30s"\n')
    with FaultProxy(spec.port, rewrite=refuse) as proxy:
        cfg = tmp_path / "config.toml"
        cfg.write_text(cfg.read_text().replace(f"port = {spec.port}", f"port = {proxy.port}"))
        with WatchProcess() as w:
            assert w.wait("started", timeout=20)[0]["mode"] == "idle"
            append(dovecot, user, message(1, "idle"))
            assert w.wait("new_mail", timeout=5)[0]["messages"][0]["subject"] == "idle 1"
            assert w.terminate()[0] == 0
    assert not w.of("disconnected")
