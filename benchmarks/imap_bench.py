"""The IMAP scenarios, tools alternating run by run. Each tool-run is one sequence on a
server restored to the seeded state and a fresh local dir:
  initial sync (timed, peak RSS) -> no-change resync (timed, commands counted from Dovecot's
  rawlog) -> server-side change: 100 new + 100 flag changes -> incremental resync (timed, counted).
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from benchmarks import measure
from benchmarks.measure import Result
from benchmarks.peers import Tool
from benchmarks.server import BenchServer

logger = logging.getLogger(__name__)

INITIAL, NOCHANGE, INCREMENTAL = "imap-initial", "imap-nochange", "imap-incremental"
SCENARIOS = (INITIAL, NOCHANGE, INCREMENTAL)
NEW, FLAGS = 100, 100
SETTLE = 1.1


def _one(tool: Tool, server: BenchServer, work: Path, timeout: float, label: str,
         expect: int | None, count_commands: bool) -> measure.Sample:
    cmd, env = tool.prepare(work, server, "sync")
    if count_commands:
        # a resync runs minutes after the last sync in real life; mbsync sleeps 1 s when a
        # Maildir directory changed within the last second, so let that second pass (all tools)
        time.sleep(SETTLE)
        server.rawlog_on()
    log = work.parent / f"{work.name}.{label}.log"
    os.sync()     # no tool pays (in its fsyncs) for the dirty pages of the one before
    sample = measure.run(cmd, env=env, cwd=work, timeout=timeout, log=log)
    if count_commands:
        sample.commands, sample.sessions = server.rawlog_off()
    if sample.rc not in tool.ok_codes:
        sample.error = sample.error or f"exit {sample.rc}: {measure.tail(log)}"
    else:
        sample.rc = 0
    sample.messages = tool.count(work)
    if sample.error is None and expect is not None and sample.messages != expect:
        sample.error = f"stored {sample.messages} of {expect} messages: {measure.tail(log)}"
    logger.info("%-22s %-18s %7.2f s  rss %6.1f MB  cmds %s  msgs %s%s", label, tool.name,
                sample.wall, sample.rss_kb / 1024, sample.commands, sample.messages,
                f"  ERROR {sample.error}" if sample.error else "")
    return sample


def run(server: BenchServer, tools: list[Tool], runs: int, timeout: float, workroot: Path,
        scenarios: tuple[str, ...] = SCENARIOS) -> list[Result]:
    results, active = measure.prepare(tools, scenarios)
    total = server.corpus["messages"]
    for r in range(runs):
        order = measure.rotation(active, r)
        for tool in order:
            server.restore()
            work = workroot / f"imap-{tool.name}-run{r}"
            shutil.rmtree(work, ignore_errors=True)
            first = _one(tool, server, work, timeout, INITIAL, total, count_commands=False)
            if INITIAL in scenarios:
                results[(INITIAL, tool.name)].samples.append(first)
            if first.ok and NOCHANGE in scenarios:
                results[(NOCHANGE, tool.name)].samples.append(
                    _one(tool, server, work, timeout, NOCHANGE, total, count_commands=True))
            if first.ok and INCREMENTAL in scenarios:
                server.change(NEW, FLAGS)
                results[(INCREMENTAL, tool.name)].samples.append(
                    _one(tool, server, work, timeout, INCREMENTAL, total + NEW, count_commands=True))
    for res in results.values():
        if res.status == "ok" and res.samples and not res.good():
            res.status = "failed: " + (res.samples[-1].error or "?")
    server.restore()
    return list(results.values())
