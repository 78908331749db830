"""Local operations: `mailcli --help` start-up (hyperfine-like: 1 warm-up, then the median of
10 subprocess runs) and, when another module provides it, benchmarks/store_bench.py (list,
search, indexing rate, TUI first paint on a large cache). Anything missing is reported as
"n/a" with the reason, never as an error.

store_bench contract (any one of): a `run(**kwargs) -> dict` function (kwargs it accepts among
n, quick, runs, workdir), or a CLI `python -m benchmarks.store_bench [--quick] --json` printing
one JSON object. Values: seconds (float), or dicts with a "seconds"/"median_s" key, or anything
JSON-serializable (reported as is).
"""
from __future__ import annotations

import importlib.util
import json
import os
import statistics
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


def store_bench(quick: bool, timeout: float, workdir: Path) -> dict:
    if importlib.util.find_spec("benchmarks.store_bench") is None:
        return {"status": "n/a: benchmarks/store_bench.py is not there yet"}
    repo = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # run it in a child so a hang or crash there cannot take the harness down
    probe = (
        "import inspect, json, sys\n"
        "import benchmarks.store_bench as sb\n"
        "kw = json.loads(sys.argv[1])\n"
        "if hasattr(sb, 'run'):\n"
        "    params = inspect.signature(sb.run).parameters\n"
        "    out = sb.run(**{k: v for k, v in kw.items() if k in params})\n"
        "    print('\\n@@JSON@@' + json.dumps(out, default=str))\n"
        "else:\n"
        "    print('@@NORUN@@')\n"
    )
    kwargs = {"quick": quick, "workdir": str(workdir)}
    if quick:
        kwargs["n"] = 10_000
    try:
        proc = subprocess.run([sys.executable, "-c", probe, json.dumps(kwargs)], env=env, cwd=repo,
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        out = proc.stdout.decode(errors="replace")
        if "@@NORUN@@" in out:
            cli = [sys.executable, "-m", "benchmarks.store_bench", "--json"] + (["--quick"] if quick else [])
            proc = subprocess.run(cli, env=env, cwd=repo, capture_output=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
            out = "@@JSON@@" + proc.stdout.decode(errors="replace")
        if proc.returncode != 0 or "@@JSON@@" not in out:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            return {"status": f"failed: exit {proc.returncode}: {err[-1] if err else ''}"}
        data = json.loads(out.split("@@JSON@@", 1)[1])
        return {"status": "ok", "results": data}
    except subprocess.TimeoutExpired:
        return {"status": f"failed: timed out after {timeout:.0f} s"}
    except (OSError, ValueError) as exc:
        return {"status": f"failed: {exc}"}


def flatten(results: object, prefix: str = "") -> list[tuple[str, str]]:
    """store_bench's results as (name, value) rows for the table."""
    rows: list[tuple[str, str]] = []
    if isinstance(results, dict):
        if any(k in results for k in ("median_s", "seconds")) and prefix:
            v = results.get("median_s", results.get("seconds"))
            extra = {k: w for k, w in results.items() if k not in ("median_s", "seconds", "runs")
                     and not isinstance(w, (dict, list))}
            rows.append((prefix, _fmt(v) + (f"  {extra}" if extra else "")))
            return rows
        for k, v in results.items():
            rows += flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(results, list):
        for i, v in enumerate(results):
            name = v.get("name", str(i)) if isinstance(v, dict) else str(i)
            rows += flatten(v, f"{prefix}.{name}" if prefix else name)
    else:
        rows.append((prefix, _fmt(results)))
    return rows


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)
