"""Running one command and measuring it: wall time, user+sys CPU and peak RSS of the child
(from os.wait4's rusage, so children it reaped count too), with a hard timeout that kills
the whole process group. Also the small statistics the report needs (median, min, max).
"""
from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Sample:
    """One measured run of one tool in one scenario."""

    wall: float
    cpu: float = 0.0
    rss_kb: int = 0
    rc: int = 0
    timed_out: bool = False
    commands: int | None = None     # IMAP commands after login (rawlog), when counted
    sessions: int | None = None     # IMAP/POP3 sessions seen in the rawlog
    messages: int | None = None     # messages found in the tool's local store afterwards
    error: str | None = None
    total: float | None = None      # newest-first probe: the whole command's wall time

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out and self.error is None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Result:
    """All runs of one tool in one scenario, or the reason it did not run."""

    scenario: str
    tool: str
    samples: list[Sample] = field(default_factory=list)
    status: str = "ok"              # "ok", "n/a: <why>", "failed: <why>"

    def good(self) -> list[Sample]:
        return [s for s in self.samples if s.ok]

    def median(self, attr: str = "wall") -> float | None:
        values = [getattr(s, attr) for s in self.good() if getattr(s, attr) is not None]
        return statistics.median(values) if values else None

    def max(self, attr: str) -> float | None:
        values = [getattr(s, attr) for s in self.good() if getattr(s, attr) is not None]
        return max(values) if values else None

    def to_json(self) -> dict:
        walls = [s.wall for s in self.good()]
        return {
            "scenario": self.scenario, "tool": self.tool, "status": self.status,
            "median_wall_s": self.median("wall"),
            "min_wall_s": min(walls) if walls else None,
            "max_wall_s": max(walls) if walls else None,
            "median_cpu_s": self.median("cpu"),
            "peak_rss_kb": self.max("rss_kb"),
            "median_commands": self.median("commands"),
            "runs": [s.to_json() for s in self.samples],
        }


TIME = shutil.which("time", path="/usr/bin:/bin")


SLOW_CREATE_US = 150.0    # per file creation above which the figures are suspect


def create_cost_us(root: Path, files: int = 300) -> float:
    """Wall microseconds of one empty file creation in a new directory under `root` (left
    in place: deleting it would slow the next creations down, see __main__)."""
    d = Path(tempfile.mkdtemp(prefix="create-probe-", dir=root))
    t = time.perf_counter()
    for i in range(files):
        os.close(os.open(d / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return (time.perf_counter() - t) / files * 1e6


def check_room(root: Path, need: float) -> None:
    """Stop with a clear message when `root`'s file system has less than `need` bytes free."""
    free = shutil.disk_usage(root).free
    if free < need:
        raise SystemExit(f"benchmarks: this run keeps every tool's store until it ends and needs "
                         f"~{need / 1e9:.1f} GB under {root}; {free / 1e9:.1f} GB are free "
                         "(fewer --runs or --tools, a smaller --n, or --workdir elsewhere)")


def rss_method() -> str:
    return ("GNU time -f %M (the child forks from time, not from the harness)" if TIME else
            "os.wait4 rusage (includes the harness's own RSS, copied at fork: install `time`)")


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float, log: Path | None = None, stdin_bytes: bytes | None = None) -> Sample:
    """Run cmd to completion (or kill it at timeout) and measure it; output goes to log."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    # a child's peak RSS includes the pages of the process it was forked from (Linux keeps
    # the pre-exec high-water mark), so fork it from the tiny GNU time, not from us
    stats = None
    if TIME:
        fd, name = tempfile.mkstemp(prefix="bench-time-")
        os.close(fd)
        stats = Path(name)
        cmd = [TIME, "-q", "-f", "%M %U %S", "-o", str(stats), *cmd]
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=out,
                                stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
                                start_new_session=True)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            if stdin_bytes is not None and proc.stdin is not None:
                try:
                    proc.stdin.write(stdin_bytes)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        rc = os.waitstatus_to_exitcode(status)
        proc.returncode = rc            # we reaped it ourselves; keep Popen consistent
        # a daemonized grandchild (none of our tools should leave one) would be killed here
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        rss_kb, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        if stats is not None:
            try:
                fields = stats.read_text().split()[-3:]
                rss_kb, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
            except (OSError, ValueError, IndexError):
                pass
        return Sample(wall=wall, cpu=cpu, rss_kb=rss_kb,
                      rc=rc, timed_out=killed.is_set(),
                      error=f"timed out after {timeout:.0f} s" if killed.is_set() else None)
    finally:
        if log:
            out.close()
        if stats is not None:
            stats.unlink(missing_ok=True)


def tail(path: Path, n: int = 400) -> str:
    """The last n characters of a log file, on one line (for error reports)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-n:].splitlines() if line.strip())


def prepare(tools: list, scenarios: tuple[str, ...]) -> tuple[dict[tuple[str, str], Result], list]:
    """One Result per (scenario, tool); tools that cannot run get an "n/a" status and are
    left out of the returned list of tools to time."""
    results = {(s, t.name): Result(s, t.name) for s in scenarios for t in tools}
    active = []
    for t in tools:
        why = t.unavailable()
        if why:
            for s in scenarios:
                results[(s, t.name)].status = why if why.startswith("n/a") else f"n/a: {why}"
        else:
            active.append(t)
    return results, active


def rotation(active: list, run_number: int) -> list:
    """The tools in a different order each run, so none always runs first (warm caches)."""
    if not active:
        return []
    k = run_number % len(active)
    return active[k:] + active[:k]
