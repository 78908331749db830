"""The POP3 scenarios, tools alternating run by run, the server restored to the seeded state
before each tool-run:
  keep mode, full download (timed, peak RSS) -> no-change re-run on the same local state
  (timed) -> fresh local dir, delete mode, full download (timed; the server must end empty).
POP3 sees INBOX only.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from benchmarks import measure
from benchmarks.measure import Result
from benchmarks.peers import Tool
from benchmarks.server import BenchServer

logger = logging.getLogger(__name__)

KEEP, NOCHANGE, DELETE = "pop3-keep", "pop3-nochange", "pop3-delete"
SCENARIOS = (KEEP, NOCHANGE, DELETE)


def _one(tool: Tool, server: BenchServer, work: Path, mode: str, timeout: float, label: str,
         expect: int) -> measure.Sample:
    cmd, env = tool.prepare(work, server, mode)
    log = work.parent / f"{work.name}.{label}.log"
    os.sync()     # no tool pays (in its fsyncs) for the dirty pages of the one before
    sample = measure.run(cmd, env=env, cwd=work, timeout=timeout, log=log)
    if sample.rc not in tool.ok_codes:
        sample.error = sample.error or f"exit {sample.rc}: {measure.tail(log)}"
    else:
        sample.rc = 0
    sample.messages = tool.count(work)
    if sample.error is None and sample.messages != expect:
        sample.error = f"stored {sample.messages} of {expect} messages: {measure.tail(log)}"
    if sample.error is None and mode == "delete":
        left = server.dovecot.count(server.user, "INBOX")
        if left:
            sample.error = f"delete mode left {left} messages on the server"
    logger.info("%-22s %-26s %7.2f s  rss %6.1f MB  msgs %s%s", label, tool.name, sample.wall,
                sample.rss_kb / 1024, sample.messages, f"  ERROR {sample.error}" if sample.error else "")
    return sample


def run(server: BenchServer, tools: list[Tool], runs: int, timeout: float, workroot: Path,
        scenarios: tuple[str, ...] = SCENARIOS) -> list[Result]:
    results, active = measure.prepare(tools, scenarios)
    inbox = server.corpus["folders"]["INBOX"]["messages"]
    for r in range(runs):
        order = measure.rotation(active, r)
        for tool in order:
            if KEEP in scenarios or NOCHANGE in scenarios:
                server.restore()
                work = workroot / f"pop3-{tool.name}-keep-run{r}"
                shutil.rmtree(work, ignore_errors=True)
                first = _one(tool, server, work, "keep", timeout, KEEP, inbox)
                if KEEP in scenarios:
                    results[(KEEP, tool.name)].samples.append(first)
                if first.ok and NOCHANGE in scenarios:
                    results[(NOCHANGE, tool.name)].samples.append(
                        _one(tool, server, work, "keep", timeout, NOCHANGE, inbox))
            if DELETE in scenarios:
                server.restore()
                work = workroot / f"pop3-{tool.name}-delete-run{r}"
                shutil.rmtree(work, ignore_errors=True)
                results[(DELETE, tool.name)].samples.append(
                    _one(tool, server, work, "delete", timeout, DELETE, inbox))
    for res in results.values():
        if res.status == "ok" and res.samples and not res.good():
            res.status = "failed: " + (res.samples[-1].error or "?")
    server.restore()
    return list(results.values())
