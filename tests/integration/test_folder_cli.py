"""`mailcli folder create/rename/delete` against the real Dovecot: queued, pushed at the
next fetch (or --now), a non-empty folder needs --force, mail that never reached the
server is never deleted."""
from __future__ import annotations

import json

import pytest

from tests.integration.mailboxes import message, run_cli
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


def _server_folders(dovecot: Dovecot, user: str) -> set[str]:
    return set(dovecot.doveadm("mailbox", "list", "-u", user).split())


def _local(folder: str) -> list[str]:
    doc = json.loads(run_cli("list", "--json", "--limit", "0", "-f", folder).stdout or "[]")
    return sorted(e["subject"] for e in doc)


def test_create_move_rename_delete(dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    u = dovecot.add_user()
    write_config(name="work", user=u)
    dovecot.seed(u, [message(i) for i in range(3)])
    assert run_cli("fetch").returncode == 0
    r = run_cli("folder", "create", "Projects/2026")
    assert r.returncode == 0 and "at the next fetch" in r.stdout, r.stderr
    assert "Projects/2026" not in _server_folders(dovecot, u)        # queued
    folders = {f["folder"] for f in json.loads(run_cli("folders", "--json").stdout)}
    assert "Projects/2026" in folders                                # but there locally
    r = run_cli("move", "--query", "subject:m", "Projects/2026")     # and usable at once
    assert r.returncode == 0, r.stderr
    assert run_cli("fetch").returncode == 0
    assert "Projects/2026" in _server_folders(dovecot, u)
    assert dovecot.count(u, "Projects/2026") == 3 and dovecot.count(u) == 0
    assert run_cli("fetch").returncode == 0
    assert _local("Projects/2026") == ["m 0", "m 1", "m 2"]

    r = run_cli("folder", "rename", "Projects/2026", "Done", "--now")
    assert r.returncode == 0, r.stderr
    assert "Done" in _server_folders(dovecot, u) and "Projects/2026" not in _server_folders(dovecot, u)
    assert run_cli("fetch").returncode == 0
    assert _local("Done") == ["m 0", "m 1", "m 2"]
    assert run_cli("list", "-f", "Projects/2026").returncode == 4

    r = run_cli("folder", "delete", "Done")
    assert r.returncode == 2 and "not empty (3 message(s))" in r.stderr and "--force" in r.stderr
    r = run_cli("folder", "delete", "Done", "--force")
    assert r.returncode == 0 and "and its 3 messages" in r.stdout, r.stderr
    assert "Done" in _server_folders(dovecot, u)                     # queued
    r = run_cli("fetch")
    assert r.returncode == 0, r.stderr
    assert "Done" not in _server_folders(dovecot, u)
    assert run_cli("fetch").returncode == 0
    assert run_cli("list", "-f", "Done").returncode == 4              # not downloaded again


def test_delete_never_takes_local_only_mail_nor_a_folder_that_got_mail(
        dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    u = dovecot.add_user()
    write_config(name="work", user=u)
    dovecot.create_folder(u, "Old")
    dovecot.seed(u, [message(1)])
    assert run_cli("fetch").returncode == 0
    id = json.loads(run_cli("list", "--json").stdout)[0]["id"]
    assert run_cli("move", str(id), "Old").returncode == 0          # queued: not on the server yet
    r = run_cli("folder", "delete", "Old", "--force")
    assert r.returncode == 2 and "never reached the server" in r.stderr, r
    assert run_cli("fetch").returncode == 0                          # now it has
    assert dovecot.count(u, "Old") == 1
    # an empty folder, deleted while someone delivers mail into it on the server
    dovecot.create_folder(u, "Empty")
    assert run_cli("fetch").returncode == 0
    assert run_cli("folder", "delete", "Empty").returncode == 0
    dovecot.seed(u, [message(7, "late")], folder="Empty")
    r = run_cli("fetch")
    assert r.returncode == 1 and "holds 1 message(s) there now" in r.stderr, r.stderr
    assert "Empty" in _server_folders(dovecot, u) and dovecot.count(u, "Empty") == 1
