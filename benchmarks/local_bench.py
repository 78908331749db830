"""Local operations: `mailcli --help` start-up (hyperfine-like: 1 warm-up, then the median of
10 subprocess runs), and the package's other local benchmark scripts (store_bench,
startup_bench, tui_bench: list, search, indexing rate, TUI first paint on a large cache), run
as subprocesses with `--n` and reported as they print. Anything missing is "n/a", never an error.
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import time
import subprocess
import sys
from pathlib import Path

from benchmarks import measure
from benchmarks.peers import mailcli_command

HELP_RUNS = 10


def help_startup(timeout: float = 30) -> dict:
    cmd = [*mailcli_command(), "--help"]
    first = measure.run(cmd, timeout=timeout)
    if not first.ok:
        return {"status": f"n/a: `mailcli --help` exited {first.rc}"}
    samples = [measure.run(cmd, timeout=timeout) for _ in range(HELP_RUNS)]
    walls = [s.wall for s in samples if s.ok]
    if not walls:
        return {"status": "failed"}
    return {"status": "ok", "median_s": statistics.median(walls), "min_s": min(walls),
            "max_s": max(walls), "runs": len(walls), "peak_rss_kb": max(s.rss_kb for s in samples),
            "target_s": 0.1}


# the other benchmark scripts in this package (written separately), run as they are
LOCAL_SCRIPTS = {
    "store_bench": "indexing rate, list and search on the store",
    "startup_bench": "`mailcli --help` and `mailcli list` start-up on a large cache",
    "tui_bench": "TUI first paint and scrolling on a large folder",
}


def scripts(quick: bool, timeout: float) -> dict:
    """Run each local benchmark script present (`python -m benchmarks.X --n N`, N=100,000, or
    10,000 with --quick) and keep its printed report; absent ones are "n/a"."""
    repo = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    n = 10_000 if quick else 100_000
    out: dict = {}
    for name, what in LOCAL_SCRIPTS.items():
        if importlib.util.find_spec(f"benchmarks.{name}") is None:
            out[name] = {"status": f"n/a: benchmarks/{name}.py is not there", "what": what}
            continue
        cmd = [sys.executable, "-m", f"benchmarks.{name}", "--n", str(n)]
        if quick and name == "tui_bench":
            cmd += ["--runs", "1"]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=env, cwd=repo, capture_output=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            out[name] = {"status": f"failed: timed out after {timeout:.0f} s", "what": what}
            continue
        text = proc.stdout.decode(errors="replace").rstrip()
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        # exit 1 is "ran, some targets missed" in these scripts; anything else is a failure
        status = "ok" if proc.returncode in (0, 1) and text else (
            f"failed: exit {proc.returncode}: {err[-1] if err else ''}")
        out[name] = {"status": status, "what": what, "command": " ".join(cmd[2:]),
                     "exit": proc.returncode, "seconds": time.perf_counter() - t0, "output": text}
    return out
