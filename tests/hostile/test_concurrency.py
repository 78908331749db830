"""Concurrency: two `mailcli fetch` of a POP3 delete-mode account started at the same
instant, several times (the IMAP case is tests/integration/test_sync_cli.py); and the
TUI's sync (driven with Pilot) against a cron-style `mailcli fetch` process, each way
round: whoever comes second is told the account is busy (exit 75 / a "busy" note, no
error), and both end consistent: every message exactly once, byte-identical.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.hostile.conftest import Box, message, new_box, sha
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


def test_two_pop3_delete_mode_fetches_at_once(dovecot: Dovecot, tmp_path: Path) -> None:
    b = new_box(dovecot, tmp_path / "p", "pop3")
    everything: list[bytes] = []
    for round_ in range(3):
        msgs = [message(i, f"r{round_}-", lines=4) for i in range(400)]
        everything += msgs
        dovecot.seed(b.user, msgs)
        procs = [b.popen("fetch") for _ in range(2)]
        codes = sorted(p.wait(timeout=120) for p in procs)
        errs = [p.stderr.read().decode() for p in procs if p.stderr]
        assert codes in ([0, 0], [0, 75]), (codes, errs)
        if codes == [0, 75]:
            assert any("already being synced" in e for e in errs), errs
        assert b.local_hashes() == Counter(map(sha, everything)), f"round {round_}"
        assert dovecot.count(b.user) == 0


def lock_holder(b: Box) -> str:
    try:
        return (b.data / "locks" / f"{b.name}.lock").read_text().strip()
    except OSError:
        return ""


def notes(app) -> list[str]:  # noqa: ANN001
    return [str(n.message) for n in app._notifications]


async def settle(pilot, app, rounds: int = 3) -> None:  # noqa: ANN001
    for _ in range(rounds):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()


def test_tui_sync_while_a_cron_fetch_runs_and_the_other_way_round(box: Box) -> None:
    import os

    from mailcli.service import Service
    from mailcli.tui.app import MailApp

    box.server.seed(box.user, [message(i, "big", lines=2) for i in range(2000)])

    async def drive() -> tuple[int, int, list[str]]:
        service = Service.open()
        try:
            app = MailApp(service, poll_interval=None, save_dir=box.root / "saved")
            async with app.run_test(size=(120, 36)) as pilot:
                await settle(pilot, app)
                # 1. cron's fetch holds the lock; the TUI's sync is told it is busy
                cron = box.popen("fetch", "--quiet")
                deadline = time.monotonic() + 30
                while lock_holder(box) != str(cron.pid):
                    assert time.monotonic() < deadline and cron.poll() is None, "cron never locked"
                    await asyncio.sleep(0.01)
                await pilot.press("g")
                await settle(pilot, app, 6)
                busy = [n for n in notes(app) if "busy" in n]
                assert busy, notes(app)
                assert not any(n.severity == "error" for n in app._notifications), [(n.title, n.message) for n in app._notifications]
                cron_code = cron.wait(timeout=120)
                # more mail, then the TUI syncs and holds the lock; now cron is the one told
                box.server.seed(box.user, [message(i, "more", lines=2) for i in range(1500)])
                # a cron fetch fired (from a thread) the moment the TUI's sync holds the lock
                second: list = []

                def cron_when_locked() -> None:
                    deadline = time.monotonic() + 60
                    while lock_holder(box) != str(os.getpid()) and time.monotonic() < deadline:
                        time.sleep(0.002)
                    second.append(box.mailcli("--debug", "fetch"))  # not --quiet: that hides "busy" (exit 75 says it)

                watcher = threading.Thread(target=cron_when_locked)
                watcher.start()
                await pilot.press("g")
                while watcher.is_alive():
                    await asyncio.sleep(0.05)
                await settle(pilot, app, 10)
                for _ in range(100):
                    if not app.workers:
                        break
                    await pilot.pause(0.1)
                await settle(pilot, app)
                return cron_code, second[0].exit_code, [second[0].stderr, *notes(app)]
        finally:
            service.close()

    cron_code, second_code, texts = asyncio.run(drive())
    assert cron_code == 0, texts
    assert second_code == 75 and "already being synced" in texts[0], texts
    r = box.mailcli("fetch")
    assert r.exit_code == 0, r.stderr
    box.assert_cache_matches("INBOX")
    assert box.server.count(box.user) == 3500
