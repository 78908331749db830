"""`python -m benchmarks.ab`: first syncs or incremental resyncs of two (or more) mailcli
source trees against each other, run by run on one server, for a change too small for the
machine's drift between two bench runs (benchmarks.nochange does the same for no-change
resyncs).

A --tree is a directory holding a `mailcli` package (e.g. `git worktree add /tmp/before
<commit> --detach`); its code runs with this venv's packages. The trees alternate run by
run (a, b, b, a, ...), so a slower minute costs both alike; the medians of the wall time
and of the fetch's CPU (user + system) are printed.

Modes (`mailcli fetch --quiet`, the bench's account and mailbox, the server restored
before each run):
- initial: a first sync into an empty cache;
- incremental: 100 new + 100 flag changes on the server, then a resync (the first sync
  and a settling resync before each run are not timed).

    .venv/bin/python -m benchmarks.ab --mode initial --n 5000 --runs 4 \\
        --tree before=/tmp/before --tree after=.
"""
from __future__ import annotations

import argparse
import compileall
import os
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

from benchmarks import measure, peers  # noqa: E402
from benchmarks.nochange import _command  # noqa: E402
from benchmarks.server import BenchServer, available  # noqa: E402

MODES = ("initial", "incremental")
SETTLE = 1.1   # seconds: a Maildir stamp younger than 1 s is not trusted (store/reconcile.py)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=DIR", required=True,
                    help="a mailcli source tree to time (repeat: two or more)")
    ap.add_argument("--mode", choices=MODES, default="initial")
    ap.add_argument("--n", type=int, default=1000, help="messages in INBOX (default 1,000)")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per tree (default 10)")
    ap.add_argument("--rtt-ms", type=float, default=0.0, help="latency proxy, as scripts/bench")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the caches go (default: a temp dir; pick a fast disk)")
    return ap.parse_args(argv)


def _trees(specs: list[str]) -> list[tuple[str, Path]]:
    out = []
    for item in specs:
        name, sep, path = item.partition("=")
        tree = Path(path).resolve()
        if not sep or not name or not (tree / "mailcli" / "__init__.py").is_file():
            raise SystemExit(f"--tree: {item!r} is not NAME=DIR with a mailcli package in DIR")
        out.append((name, tree))
    if len(out) < 2 or len({n for n, _ in out}) != len(out):
        raise SystemExit("--tree: two or more, with different names")
    return out


class _Runner:
    def __init__(self, server: BenchServer, root: Path, name: str, tree: Path) -> None:
        self.server, self.root, self.name, self.tree = server, root, name, tree
        self.count = 0

    def fresh(self) -> tuple[list[str], dict[str, str], Path]:
        self.count += 1
        work = self.root / f"{self.name}-{self.count}"
        work.mkdir()
        tool = peers.Tool("mailcli", "imap", None, None, peers._mailcli, peers.count_maildir,
                          is_mailcli=True)
        cmd, env = peers._mailcli(tool, work, self.server, "sync")
        return _command(self.tree, cmd), env, work


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fetch (which must succeed)."""
    before = os.times()
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = os.times()
    return wall, (after.children_user - before.children_user
                  + after.children_system - before.children_system)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    trees = _trees(args.tree)
    if not available():
        raise SystemExit("benchmarks.ab: Dovecot is needed: apt-get install dovecot-imapd")
    for _name, tree in trees:
        compileall.compile_dir(str(tree / "mailcli"), quiet=1)   # no compile in a timed run
    root = Path(tempfile.mkdtemp(prefix="mailcli-ab-", dir=args.workdir))
    os.chmod(root, 0o755)
    create_us = [measure.create_cost_us(root)]
    if create_us[0] > measure.SLOW_CREATE_US:
        print(f"benchmarks.ab: creating a file takes {create_us[0]:.0f} us here (usually ~20):"
              " many files were deleted nearby in the last minutes; the figures are inflated"
              " (wait a few minutes)", file=sys.stderr)
    server = BenchServer(args.n)
    if args.rtt_ms:
        server.add_latency(args.rtt_ms)
    runners = {name: _Runner(server, root, name, tree) for name, tree in trees}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
    try:
        measure.check_room(root, args.runs * len(trees) * server.corpus["bytes"] * 1.2)
        for i in range(args.runs):
            order = list(runners) if i % 2 == 0 else list(runners)[::-1]
            for name in order:
                server.restore()
                cmd, env, work = runners[name].fresh()
                if args.mode == "incremental":
                    _run(cmd, env, work)
                    time.sleep(SETTLE)
                    _run(cmd, env, work)        # records the Maildir stamps
                    server.change(100, 100)
                os.sync()                       # no other run's writeback in this one
                times[name].append(_run(cmd, env, work))
                # (the run's files stay until the end: deleting them between runs made the
                # next run's file creations up to 40x slower here, see benchmarks/__main__)
                print(f"{name} run {i + 1}: {times[name][-1][0]:.3f} s", file=sys.stderr, flush=True)
        create_us.append(measure.create_cost_us(root))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.mode}, N={args.n}, {args.runs} runs per tree"
          + (f", +{args.rtt_ms:g} ms RTT" if args.rtt_ms else "")
          + ", file creation " + " -> ".join(f"{c:.0f}" for c in create_us) + " us:")
    for name, got in times.items():
        walls = [w for w, _c in got]
        cpus = [c for _w, c in got]
        print(f"  {name:12s} median {statistics.median(walls):.3f} s  min {min(walls):.3f} s"
              f"  CPU median {statistics.median(cpus):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
