"""Time repeated no-change IMAP resyncs of mailcli (issue 15's start-up target): seed the
bench Dovecot once (N messages, 7 folders), one initial `mailcli fetch` per command, then
--runs no-change `fetch --quiet` runs, the commands interleaved run by run (A/B against
another tree cancels the machine's drift). Prints wall and CPU medians, the load average
and the IMAP commands of one no-change run (Dovecot's rawlog).

    .venv/bin/python -m benchmarks.nochange --n 1000 --runs 15 \\
        --tree base=/tmp/main-archive --tree new=.

A --tree is a directory holding a `mailcli` package (e.g. a `git archive` of another
commit, compiled with `python -m compileall`); its code runs with this venv's packages.
"""
from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import peers  # noqa: E402
from benchmarks.server import BenchServer  # noqa: E402


def _command(tree: Path, base: list[str]) -> list[str]:
    # what `python -m mailcli` runs, from that tree (its console entry, whatever it is)
    run = (f"import sys; sys.path.insert(0, {str(tree)!r}); sys.argv[0] = 'mailcli'; "
           "import runpy; runpy.run_module('mailcli', run_name='__main__', alter_sys=True)")
    return [sys.executable, "-c", run, *base[1:]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=DIR",
                    help="a mailcli source tree to time (repeatable; default: this checkout)")
    args = ap.parse_args(argv)
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": str(REPO)}
    for d in trees.values():
        compileall.compile_dir(str(Path(d) / "mailcli"), quiet=1)   # as an install would
    server = BenchServer(args.n)
    root = Path(tempfile.mkdtemp(prefix="mailcli-nochange-"))
    try:
        tool = peers.Tool("mailcli", "imap", None, None, peers._mailcli, None, is_mailcli=True)
        runs: dict[str, tuple[list[str], dict[str, str], Path]] = {}
        for name, d in trees.items():
            work = root / name
            work.mkdir()
            base, env = peers._mailcli(tool, work, server, "sync")
            cmd = _command(Path(d).resolve(), base)
            first = subprocess.run(cmd, env=env, cwd=work, capture_output=True)
            if first.returncode != 0:
                print(f"{name}: initial fetch failed: {first.stderr.decode()[-500:]}")
                return 1
            runs[name] = (cmd, env, work)
        time.sleep(1.1)   # Maildir directories older than a second, as in real life
        wall: dict[str, list[float]] = {n: [] for n in runs}
        cpu: dict[str, list[float]] = {n: [] for n in runs}
        for _ in range(args.runs):
            for name, (cmd, env, work) in runs.items():
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True)
                wall[name].append(time.perf_counter() - t)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
                if proc.returncode != 0 or proc.stdout or proc.stderr:
                    print(f"{name}: exit {proc.returncode}: {proc.stderr.decode()[-300:]}")
        for name, (cmd, env, work) in runs.items():
            server.rawlog_on()
            subprocess.run(cmd, env=env, cwd=work, capture_output=True)
            commands, _sessions = server.rawlog_off()
            print(f"{name:>8}: wall median {statistics.median(wall[name]):.3f} s "
                  f"(min {min(wall[name]):.3f}), CPU median {statistics.median(cpu[name]):.3f} s, "
                  f"{commands} IMAP commands, {args.runs} runs")
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
