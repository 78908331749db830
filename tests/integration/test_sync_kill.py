"""SIGKILL `python -m mailcli fetch` at many points, re-run it, and check nothing was lost,
duplicated, or deleted on the server that should not have been.

Kill points come from a seeded RNG (fixed seeds, so every run tests the same points):
mostly exact points through the MAILCLI_TEST_KILL_AT hook (mailcli/killpoint.py: after the
n-th stored message, after a committed batch, after a flag push / move, after a server
delete, after POP3 QUIT), plus a few seeded timers that can land anywhere (including
between a batch's renames and its commit). Each scenario has its own user, config and
data dir; scenarios run concurrently so the whole module stays well under a minute.
"""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mailcli.config import load_config
from mailcli.model import Flag
from mailcli.store import Store
from tests.integration.mailboxes import maildir_hashes, message
from tests.servers.dovecot import PASSWORD, Dovecot

pytestmark = pytest.mark.dovecot

IMAP_SEEDS = range(12)     # 2 kill points each
POP_SEEDS = range(12)      # 2 kill points each


def h(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass
class World:
    """One scenario's account: config file, data dir, and how each run ended."""

    server: Dovecot
    user: str
    root: Path
    protocol: str
    kills: list[str] = field(default_factory=list)
    killed: int = 0

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def write(self) -> None:
        port = self.server.ports.imaps if self.protocol == "imap" else self.server.ports.pop3s
        self.config.write_text(
            f'[accounts.acct]\nprotocol = "{self.protocol}"\nhost = "127.0.0.1"\nport = {port}\n'
            f'security = "tls"\ntls_ca_file = "{self.server.ca_file}"\nusername = "{self.user}"\n'
            f'password_env = "MAILCLI_TEST_PASSWORD"\n')

    def env(self, kill: str | None) -> dict[str, str]:
        env = dict(os.environ, MAILCLI_CONFIG=str(self.config), MAILCLI_DATA=str(self.data),
                   MAILCLI_TEST_PASSWORD=PASSWORD)
        env.pop("MAILCLI_TEST_KILL_AT", None)
        if kill and not kill.startswith("timer"):
            env["MAILCLI_TEST_KILL_AT"] = kill
        return env

    def fetch(self, kill: str | None = None) -> int:
        proc = subprocess.Popen([sys.executable, "-m", "mailcli", "fetch", "--quiet"],
                                env=self.env(kill), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if kill and kill.startswith("timer:"):
            time.sleep(float(kill.split(":")[1]))
            proc.send_signal(signal.SIGKILL)
        _out, err = proc.communicate(timeout=60)
        if kill:
            self.kills.append(kill)
            self.killed += proc.returncode == -signal.SIGKILL
        elif proc.returncode != 0:
            raise AssertionError(f"normal fetch exited {proc.returncode}: {err.decode(errors='replace')}")
        return proc.returncode

    def service(self):  # noqa: ANN201
        from mailcli.service import Service

        return Service(load_config(self.config), self.data)


def make_world(server: Dovecot, protocol: str, base: Path, seed: int) -> World:
    root = base / f"{protocol}-{seed}"
    root.mkdir()
    w = World(server, server.add_user(), root, protocol)
    w.write()
    return w


# ---------------------------------------------------------------------------- IMAP
def imap_scenario(w: World, seed: int) -> dict[str, Counter[str]]:
    """Returns the expected server contents (folder -> hashes) after the scenario."""
    rng = random.Random(seed)
    inbox = [message(i, f"k{seed}-") for i in range(40)]
    lists = [message(i, f"l{seed}-") for i in range(8)]
    w.server.seed(w.user, inbox)
    w.server.seed(w.user, lists, folder="Lists")
    expected = {"INBOX": Counter(map(h, inbox)), "Lists": Counter(map(h, lists))}

    first = rng.choice([f"deliver:{rng.randint(1, 48)}", f"deliver:{rng.randint(41, 48)}",
                        "commit:1", "commit:2", f"timer:{rng.uniform(0.35, 0.9):.2f}"])
    w.fetch(first)

    # changes between the runs, on both sides
    new = [message(i, f"n{seed}-") for i in range(3)]
    for raw in new:
        w.server.deliver(w.user, raw)
        expected["INBOX"][h(raw)] += 1
    uids = sorted(w.server.messages(w.user, "INBOX"))
    w.server.flags_add(w.user, "INBOX", str(uids[0]), "\\Flagged")
    gone = uids[-4]                                           # expunged by another client
    gone_raw = w.server.messages(w.user, "INBOX")[gone]
    w.server.expunge(w.user, "INBOX", str(gone))
    expected["INBOX"][h(gone_raw)] -= 1
    svc = w.service()
    try:
        cached = [r for r in svc.store.message_rows("acct", "INBOX")
                  if r.uid is not None and r.uid != gone]
        rng.shuffle(cached)
        if len(cached) >= 4:
            seen, moved, deleted = cached[0], cached[1], cached[2]
            svc.flag([str(seen.id)], add=frozenset({Flag.SEEN}))
            for row, folder in ((moved, "Lists"),):
                raw = svc.store.read_raw(row.id)
                svc.move([str(row.id)], w.server.local_name(folder))
                expected["INBOX"][h(raw)] -= 1
                expected["Lists"][h(raw)] += 1
            raw = svc.store.read_raw(deleted.id)
            svc.delete([str(deleted.id)], expunge=True)
            expected["INBOX"][h(raw)] -= 1
    finally:
        svc.close()

    second = rng.choice(["push:1", "push:2", "delete:1", f"deliver:{rng.randint(1, 3)}",
                         "commit:1", f"timer:{rng.uniform(0.35, 0.8):.2f}"])
    w.fetch(second)
    w.fetch()
    return {f: +c for f, c in expected.items()}


def check_imap(w: World, expected: dict[str, Counter[str]]) -> None:
    from mailcli.store.maildir import encode_component, folder_to_relpath

    for folder, want in expected.items():
        server = Counter(map(h, w.server.messages(w.user, folder).values()))
        assert server == want, f"{w.kills}: server {folder} lost or kept the wrong messages"
        name = w.server.local_name(folder)     # "INBOX/Lists" where folders live under INBOX.
        local = maildir_hashes(w.data / "mail" / encode_component("acct") / folder_to_relpath(name))
        assert local == want, f"{w.kills}: cache of {folder} differs from the server"
        with Store(w.data) as st:
            rows = st.message_rows("acct", name)
            assert sorted(r.uid for r in rows) == sorted(w.server.messages(w.user, folder)), w.kills
    # a further run finds nothing to do
    proc = subprocess.run([sys.executable, "-m", "mailcli", "fetch", "--json"], env=w.env(None),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and '"new": 0' in proc.stdout and '"deleted": 0' in proc.stdout, \
        (w.kills, proc.stdout, proc.stderr)


# the heavy kill tests run on Dovecot and one extra server each (CI time): IMAP on Cyrus,
# POP3 on Courier
@pytest.mark.parametrize("mail_server", ["dovecot", "cyrus"], indirect=True)
def test_sigkill_during_imap_sync(mail_server: Dovecot, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    worlds = [make_world(mail_server, "imap", tmp_path, s) for s in IMAP_SEEDS]
    with ThreadPoolExecutor(4) as pool:
        expected = list(pool.map(imap_scenario, worlds, IMAP_SEEDS))
    for w, exp in zip(worlds, expected):
        check_imap(w, exp)
    points = {(w.user, k) for w in worlds for k in w.kills}
    assert len(points) == 2 * len(IMAP_SEEDS)
    assert sum(w.killed for w in worlds) >= 15, [w.kills for w in worlds]


@pytest.mark.parametrize("mail_server", ["dovecot", "cyrus"], indirect=True)
def test_a_download_whose_rows_a_kill_lost_is_not_uploaded_once_the_server_expunged_it(
        mail_server: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL after a batch's files were renamed into place, before their rows committed
    (the "landed" point, which the seeded timers of test_sigkill_during_imap_sync hit only
    now and then). Another client then expunges one of those messages and flags another.
    The next fetch must not take the first file for new local mail (it came from the
    server, which no longer has it: an upload would bring back what was deleted), and
    must keep the others once, with their UIDs and the server's flags."""
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    w = make_world(mail_server, "imap", tmp_path, 0)
    inbox = [message(i, "landed-") for i in range(40)]
    w.server.seed(w.user, inbox)
    assert w.fetch("landed:1") == -signal.SIGKILL
    md = w.data / "mail" / "acct" / "INBOX"
    on_disk = [p for sub in ("cur", "new") for p in (md / sub).iterdir()]
    with Store(w.data) as st:
        assert on_disk and st.count("acct") == 0   # files in place, no row committed
    assert [p.name for p in (md / "tmp").iterdir() if p.name.startswith(".mailcli-landing-")]
    uids = sorted(w.server.messages(w.user, "INBOX"))
    gone, flagged = uids[-1], uids[-2]    # both in the first (newest) batch
    gone_raw = w.server.messages(w.user, "INBOX")[gone]
    assert h(gone_raw) in {h(p.read_bytes()) for p in on_disk}
    w.server.expunge(w.user, "INBOX", str(gone))
    w.server.flags_add(w.user, "INBOX", str(flagged), "\\Flagged")
    w.fetch()
    want = Counter(map(h, inbox))
    want[h(gone_raw)] -= 1
    check_imap(w, {"INBOX": +want})
    with Store(w.data) as st:
        row = st.message_row(st.id_by_uid("acct", "INBOX", flagged))
        assert Flag.FLAGGED in row.flags
        assert st.journal.pending("acct") == []
    assert not [p for p in (md / "tmp").iterdir()]   # the landing record is gone too


# ---------------------------------------------------------------------------- POP3
def pop_scenario(w: World, seed: int) -> list[bytes]:
    rng = random.Random(1000 + seed)
    msgs = [message(i, f"p{seed}-") for i in range(40)]
    w.server.seed(w.user, msgs)
    for _ in range(2):
        kill = rng.choice([f"deliver:{rng.randint(1, 40)}", f"deliver:{rng.randint(1, 40)}",
                           "commit:1", "delete:1", "quit:1", f"timer:{rng.uniform(0.3, 0.8):.2f}"])
        w.fetch(kill)
        # Dovecot deletes all or nothing at QUIT; Courier unlinks one file at a time, so a
        # kill during QUIT may leave some: the end state below must still lose nothing.
        assert w.server.count(w.user) in ((0, 40) if w.server.name == "dovecot" else range(41))
    w.fetch()
    return msgs


@pytest.mark.parametrize("mail_server", ["dovecot", "courier"], indirect=True)
def test_sigkill_during_pop3_delete_mode_download(mail_server: Dovecot, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    worlds = [make_world(mail_server, "pop3", tmp_path, s) for s in POP_SEEDS]
    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(pop_scenario, worlds, POP_SEEDS))
    for w, msgs in zip(worlds, sent):
        assert w.server.count(w.user) == 0, w.kills
        local = maildir_hashes(w.data / "mail" / "acct" / "INBOX")
        assert local == Counter(map(h, msgs)), f"{w.kills}: lost or duplicated messages"
        with Store(w.data) as st:
            assert len(st.message_rows("acct", "INBOX")) == 40
            assert len(st.ledger.entries("acct")) in (0, 40)
    assert sum(w.killed for w in worlds) >= 15, [w.kills for w in worlds]
