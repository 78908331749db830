"""The newest-first probe (mailcli only; no peer shows mail before its sync ends): on a
server restored to the seeded state and an empty local dir, start `mailcli fetch` and,
while it runs, watch the index (read-only SQLite, every 20 ms: the rows `mailcli list`
reads) until the 100 newest INBOX messages of the corpus (seed messages N-100 .. N-1 by
Message-ID, also the 100 highest UIDs) are all committed; then run
`mailcli list -a bench -f INBOX --limit 100 --json` once to confirm they are listed.
The sample's wall is the time from the fetch's start until the rows were committed;
`total` is the fetch's own wall time; the log line also gives when the confirming
`mailcli list` returned (that adds one client start-up).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from benchmarks import measure
from benchmarks import seed as seedmod
from benchmarks.measure import Result, Sample
from benchmarks.peers import Tool, mailcli_command
from benchmarks.server import BenchServer

logger = logging.getLogger(__name__)

NEWEST = "imap-newest100"
WANT = 100


def _expected(server: BenchServer) -> set[str]:
    n = server.corpus["folders"]["INBOX"]["messages"]
    return {seedmod._msgid("INBOX", i, server.corpus["seed"]).strip("<>")
            for i in range(max(0, n - WANT), n)}


def _listed(cmd: list[str], env: dict[str, str], cwd: Path) -> set[str]:
    try:
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return set()
    if proc.returncode != 0:
        return set()
    try:
        rows = json.loads(proc.stdout or b"[]")
    except ValueError:
        return set()
    if isinstance(rows, dict):
        rows = rows.get("messages", [])
    return {str(r.get("message_id") or "").strip("<>") for r in rows if isinstance(r, dict)}


def _committed(db: Path) -> set[str]:
    """Message-IDs of the INBOX rows committed in the index (what `mailcli list` reads)."""
    if not db.exists():
        return set()
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
        try:
            rows = conn.execute("SELECT message_id FROM messages WHERE account = 'bench'"
                                " AND folder = 'INBOX'").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return set()
    return {str(r[0] or "").strip("<>") for r in rows}


def _one(tool: Tool, server: BenchServer, work: Path, timeout: float) -> Sample:
    cmd, env = tool.prepare(work, server, "sync")
    config = cmd[cmd.index("--config") + 1]
    lister = [*mailcli_command(), "--config", config, "list", "-a", "bench", "-f", "INBOX",
              "--limit", str(WANT), "--json"]
    want = _expected(server)
    db = Path(env["MAILCLI_DATA"]) / "index.sqlite3"
    log = work.parent / f"{work.name}.{NEWEST}.log"
    os.sync()
    listed_at: float | None = None
    with open(log, "ab") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=work, stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        first: float | None = None
        polls = 0
        try:
            while time.perf_counter() - start < timeout:
                done = proc.poll() is not None
                polls += 1
                if want <= _committed(db):
                    first = time.perf_counter() - start
                    break
                if done:
                    break
                time.sleep(0.02)
            if first is not None and want <= _listed(lister, env, work):
                listed_at = time.perf_counter() - start
            rc = proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - start)))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
        total = time.perf_counter() - start
    sample = Sample(wall=first if first is not None else total, rc=rc, total=total)
    if rc != 0:
        sample.error = f"exit {rc}: {measure.tail(log)}"
    elif first is None:
        sample.error = "the newest 100 INBOX messages were never all committed"
    elif listed_at is None:
        sample.error = "committed, but `mailcli list` did not show the newest 100"
    sample.messages = tool.count(work)
    logger.info("%-22s %-18s newest %d committed after %.2f s, `mailcli list` showed them at "
                "%s s (fetch %.2f s, %d polls)%s", NEWEST, tool.name, WANT, sample.wall,
                f"{listed_at:.2f}" if listed_at is not None else "-", total, polls,
                f"  ERROR {sample.error}" if sample.error else "")
    return sample


def run(server: BenchServer, tools: list[Tool], runs: int, timeout: float, workroot: Path) -> list[Result]:
    tools = [t for t in tools if t.is_mailcli]
    results, active = measure.prepare(tools, (NEWEST,))
    for r in range(runs):
        for tool in active:
            server.restore()
            work = workroot / f"newest-{tool.name}-run{r}"
            shutil.rmtree(work, ignore_errors=True)
            results[(NEWEST, tool.name)].samples.append(_one(tool, server, work, timeout))
    for res in results.values():
        if res.status == "ok" and res.samples and not res.good():
            res.status = "failed: " + (res.samples[-1].error or "?")
    server.restore()
    return list(results.values())
