"""`mailcli delete` moves to the account's Trash on a real Dovecot: the \\Trash SPECIAL-USE
folder (full server), a configured `trash_folder` on a server without MOVE and UIDPLUS
(`dovecot_minimal`: COPY + EXPUNGE, no COPYUID), a Trash the server lacks (created with the
move); a delete in the Trash, or with --expunge, is for good."""
from __future__ import annotations

import json

import pytest

from tests.integration.mailboxes import message, run_cli
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


def _ids(folder: str | None = None) -> dict[str, int]:
    args = ["list", "--json", "--limit", "0"] + (["-f", folder] if folder else [])
    doc = json.loads(run_cli(*args).stdout or "[]")
    return {e["subject"]: e["id"] for e in doc}


def _subjects(dovecot: Dovecot, user: str, folder: str) -> set[str]:
    out = set()
    for raw in dovecot.messages(user, folder).values():
        for line in raw.decode().splitlines():
            if line.startswith("Subject: "):
                out.add(line[9:])
    return out


def test_delete_moves_to_the_special_use_trash_and_expunges_only_there(
        dovecot: Dovecot, write_config) -> None:  # noqa: ANN001
    u = dovecot.add_user()
    write_config(name="work", user=u)
    dovecot.seed(u, [message(i) for i in range(3)])
    assert run_cli("fetch").returncode == 0
    ids = _ids("INBOX")
    first, second, third = sorted(ids)
    r = run_cli("delete", str(ids[first]), "--now")
    assert r.returncode == 0 and "moved 1 message to Trash" in r.stdout, r.stderr
    assert first not in _subjects(dovecot, u, "INBOX")
    assert _subjects(dovecot, u, "Trash") == {first}          # on the server, in \Trash
    assert run_cli("fetch").returncode == 0
    assert set(_ids("Trash")) == {first}                        # and once in the cache
    # in the Trash: for good; and --expunge elsewhere
    trash_id = _ids("Trash")[first]
    r = run_cli("delete", str(trash_id), "--now")
    assert r.returncode == 0 and "deleted 1 message" in r.stdout, r.stderr
    r = run_cli("delete", "--expunge", str(ids[second]), "--now")
    assert r.returncode == 0 and "deleted 1 message" in r.stdout, r.stderr
    assert run_cli("fetch").returncode == 0
    assert _subjects(dovecot, u, "Trash") == set()
    assert _subjects(dovecot, u, "INBOX") == {third}
    assert set(_ids()) == {third}


def test_delete_to_a_configured_trash_without_move_or_uidplus(
        dovecot_minimal: Dovecot, write_config) -> None:  # noqa: ANN001
    srv = dovecot_minimal
    u = srv.add_user()
    srv.create_folder(u, "Papierkorb")
    write_config(name="work", user=u, server=srv, extra='trash_folder = "Papierkorb"')
    srv.seed(u, [message(i) for i in range(2)])
    assert run_cli("fetch").returncode == 0
    ids = _ids("INBOX")
    one = sorted(ids)[0]
    r = run_cli("delete", str(ids[one]))
    assert r.returncode == 0 and "moved 1 message to Papierkorb" in r.stdout, r.stderr
    assert _subjects(srv, u, "Papierkorb") == set()            # queued, not pushed yet
    assert run_cli("fetch").returncode == 0
    assert _subjects(srv, u, "Papierkorb") == {one}
    assert one not in _subjects(srv, u, "INBOX") and _subjects(srv, u, "Trash") == set()
    assert run_cli("fetch").returncode == 0
    assert list(_ids("Papierkorb")) == [one]                    # exactly once locally


def test_delete_creates_a_trash_the_server_lacks(dovecot: Dovecot,
                                                 write_config) -> None:  # noqa: ANN001
    u = dovecot.add_user()
    write_config(name="work", user=u, extra='trash_folder = "Bin"')
    dovecot.seed(u, [message(0)])
    assert run_cli("fetch").returncode == 0
    (subject, id), = _ids().items()
    r = run_cli("delete", str(id), "--now")
    assert r.returncode == 0 and "moved 1 message to Bin" in r.stdout, r.stderr
    assert _subjects(dovecot, u, "Bin") == {subject}
    assert _subjects(dovecot, u, "INBOX") == set()
    assert run_cli("fetch").returncode == 0
    assert list(_ids("Bin")) == [subject]
