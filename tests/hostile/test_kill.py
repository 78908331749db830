"""SIGKILL where tests/integration/test_sync_kill.py does not: POP3 *keep* mode
(leave_on_server, with local deletes pushed by delete_when_deleted_locally) and sending
(`mailcli send` flushing an Outbox, and `mailcli compose`), at seeded points: the
MAILCLI_TEST_KILL_AT hook (deliver:n, commit:n, delete:n, quit:n for POP3; smtp:n = the
SMTP server accepted message n but the send is not recorded yet, sent:n = recorded as
sent but no Sent copy yet) and seeded timers that can land anywhere. After a normal
re-run: every message exactly once, byte-identical; nothing deleted on the server but
what the user deleted locally; nothing delivered twice (counted at aiosmtpd), each
delivered message with exactly one Sent copy, or held as "uncertain" for the user.
"""
from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.hostile.conftest import Box, message, new_box, sha
from tests.servers.dovecot import Dovecot, free_port
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = pytest.mark.dovecot

KEEP_SEEDS = range(10)
SEND_SEEDS = range(10)
KEEP = "leave_on_server = true\ndelete_when_deleted_locally = true"


def smtp_section(server: SmtpServer, port: int | None = None, name: str = "acct") -> str:
    return (f'[accounts.{name}.smtp]\nhost = "127.0.0.1"\nport = {port or server.port}\n'
            f'security = "starttls"\ntls_ca_file = "{server.ca_file}"\nusername = "sender"\n'
            f'password_env = "SMTP_PW"\n')


def smtp_port(section: str) -> int:
    return int(section.split("port = ")[1].split("\n")[0])


def killed_run(b: Box, args: list[str], kill: str, input: bytes | None = None) -> int:
    """Run mailcli with a kill point ("event:n") or a timer ("timer:seconds")."""
    env = {"SMTP_PW": SMTP_PASSWORD}
    if not kill.startswith("timer:"):
        env["MAILCLI_TEST_KILL_AT"] = kill
    proc = b.popen(*args, env=env, stdin=input is not None)
    if input is not None:
        assert proc.stdin is not None
        proc.stdin.write(input)
        proc.stdin.close()
        proc.stdin = None   # communicate() must not flush it again
    if kill.startswith("timer:"):
        time.sleep(float(kill.split(":")[1]))
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return proc.returncode


def normal(b: Box, *args: str) -> None:
    r = b.mailcli(*args, env={"SMTP_PW": SMTP_PASSWORD})
    assert r.exit_code == 0, (args, r.exit_code, r.stderr)


# ---------------------------------------------------------------------------- POP3 keep mode
def keep_scenario(b: Box, seed: int) -> tuple[list[str], Counter[str], int]:
    rng = random.Random(2000 + seed)
    msgs = [message(i, f"k{seed}-", lines=20) for i in range(30)]
    b.server.seed(b.user, msgs)
    kills = [rng.choice([f"deliver:{rng.randint(1, 30)}", "commit:1",
                         f"timer:{rng.uniform(0.3, 0.9):.2f}"])]
    died = killed_run(b, ["fetch", "--quiet"], kills[0]) == -signal.SIGKILL
    normal(b, "fetch", "--quiet")
    assert b.server.count(b.user) == 30, "keep mode deleted on the server"
    # the user deletes three messages locally; three new ones arrive on the server
    listed = json.loads(b.mailcli("list", "--json", "--limit", "100").stdout)
    victims = rng.sample(listed, 3)
    assert b.mailcli("delete", "--expunge", *(str(v["id"]) for v in victims)).exit_code == 0
    new = [message(100 + i, f"kn{seed}-", lines=20) for i in range(3)]
    for raw in new:
        b.server.deliver(b.user, raw)
    kills.append(rng.choice([f"deliver:{rng.randint(1, 3)}", "commit:1", "delete:1", "quit:1",
                             f"timer:{rng.uniform(0.3, 0.9):.2f}"]))
    died += killed_run(b, ["fetch", "--quiet"], kills[1]) == -signal.SIGKILL
    normal(b, "fetch", "--quiet")
    gone = {v["message_id"] for v in victims}
    want = Counter(sha(raw) for raw in msgs + new
                   if not any(m.encode() in raw for m in gone))
    return kills, want, died


def test_sigkill_during_pop3_keep_mode(dovecot: Dovecot, tmp_path: Path) -> None:
    boxes = [new_box(dovecot, tmp_path / f"k{s}", "pop3", extra=KEEP) for s in KEEP_SEEDS]
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(keep_scenario, boxes, KEEP_SEEDS))
    points = set()
    for b, (kills, want, _died) in zip(boxes, outcomes):
        points.update(kills)
        assert b.server_hashes() == want, f"{kills}: the server lost a message it should keep"
        assert b.local_hashes() == want, f"{kills}: cache lost or duplicated a message"
        r = b.mailcli("fetch", "--json")
        acct = json.loads(r.stdout)["accounts"][0]
        assert (acct["new"], acct["deleted"]) == (0, 0), (kills, acct)
    assert len(points) >= 8, points
    assert sum(o[2] for o in outcomes) >= 15, "most runs must really have been killed"


# ---------------------------------------------------------------------------- sending
def send_scenario(b: Box, seed: int, smtp: str) -> tuple[str, list[str], bool]:
    """Even seeds: three messages wait in the Outbox (SMTP was down) and `mailcli send`
    is killed; odd seeds: `mailcli compose` itself is killed. Seeds 2, 3, 6, 7 then lose
    the index (moved away, `index rebuild`): the outbox comes back from its records.
    Returns (kill, subjects)."""
    rng = random.Random(3000 + seed)
    subjects = [f"kill {b.user} {seed} {i}" for i in range(3 if seed % 2 == 0 else 1)]
    body = b"Hello\n" + b"x" * 2000 + b"\n"
    if seed % 2 == 0:
        b.write(smtp=smtp.replace(f"port = {smtp_port(smtp)}", f"port = {free_port()}"))
        for s in subjects:
            r = b.mailcli("compose", "--to", "r@example.test", "--subject", s, "--body-file", "-",
                          input=body, env={"SMTP_PW": SMTP_PASSWORD})
            assert r.exit_code == 75, r.stderr
        b.write(smtp=smtp)
        kill = rng.choice([f"smtp:{rng.randint(1, 3)}", f"sent:{rng.randint(1, 3)}",
                           f"timer:{rng.uniform(0.4, 1.2):.2f}"])
        died = killed_run(b, ["send"], kill) == -signal.SIGKILL
    else:
        b.write(smtp=smtp)
        kill = rng.choice(["smtp:1", "sent:1", f"timer:{rng.uniform(0.4, 1.2):.2f}"])
        died = killed_run(b, ["compose", "--to", "r@example.test", "--subject", subjects[0],
                              "--body-file", "-"], kill, input=body) == -signal.SIGKILL
    if seed % 4 >= 2:  # and then the index is lost: moved away (as the hint says), rebuilt
        lost = b.root / "lost-index"
        lost.mkdir()
        for p in b.data.glob("index.sqlite3*"):
            p.rename(lost / p.name)
        assert b.mailcli("index", "rebuild").exit_code == 0
    # the normal re-runs: `mailcli send` (which retries the Outbox) and a fetch
    b.mailcli("send", env={"SMTP_PW": SMTP_PASSWORD})
    b.mailcli("fetch", env={"SMTP_PW": SMTP_PASSWORD})
    b.mailcli("send", env={"SMTP_PW": SMTP_PASSWORD})
    return kill, subjects, died


def test_sigkill_while_sending(dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path) -> None:
    smtp = smtp_section(smtp_server)
    boxes = [new_box(dovecot, tmp_path / f"s{s}", smtp=smtp) for s in SEND_SEEDS]
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(send_scenario, boxes, SEND_SEEDS, [smtp] * len(boxes)))
    held_total = not_taken = 0
    for b, (kill, subjects, _died) in zip(boxes, outcomes):
        outbox = json.loads(b.mailcli("send", "--list", "--json").stdout)
        held = {o["message_id"] for o in outbox if o["state"] == "uncertain"}
        assert all(o["state"] == "uncertain" for o in outbox), (kill, outbox)
        sent_copies = [raw for raw in dovecot.messages(b.user, "Sent").values()]
        for s in subjects:
            tag = f"Subject: {s}\r\n".encode()
            delivered = [m for m in smtp_server.messages if tag in m.data]
            assert len(delivered) <= 1, f"{kill}: {s!r} delivered {len(delivered)} times"
            copies = [raw for raw in sent_copies if tag in raw]
            mid = next((o["message_id"] for o in outbox if o["message_id"] in held
                        and _subject_of(b, o) == s), None)
            if mid is not None:        # killed mid-SMTP: held, never re-sent by itself
                held_total += 1
                assert copies == [], kill
                continue
            if (seed_of(subjects) % 2 and kill.startswith("timer:") and _died
                    and not delivered and not copies):
                # `compose` killed by the clock before it took the message (a busy machine
                # needs more than the timer to start Python): it never said the message was
                # sent or queued, and nothing half-done is left (no copy, not in the Outbox)
                not_taken += 1
                continue
            assert len(delivered) == 1, f"{kill}: {s!r} never delivered"
            assert len(copies) == 1, f"{kill}: {s!r} has {len(copies)} Sent copies"
        with_subjects = [e for e in json.loads(b.mailcli("list", "--json", "-f", "Sent").stdout)]
        assert len({e["message_id"] for e in with_subjects}) == len(with_subjects), kill
    assert len({k for k, _, _ in outcomes}) >= 6
    assert sum(d for _, _, d in outcomes) >= 7, [(k, d) for k, _, d in outcomes]
    assert not_taken <= 2, "the compose timers say nothing any more: raise them"
    print("send kills:", [k for k, _, _ in outcomes], "held:", held_total, "not taken:", not_taken)


def seed_of(subjects: list[str]) -> int:
    return int(subjects[0].split()[2])        # "kill USER SEED I"


def _subject_of(b: Box, outbox_row: dict) -> str:
    r = b.mailcli("show", "--json", "--no-mark", str(outbox_row["id"]))
    return json.loads(r.stdout)["subject"]
