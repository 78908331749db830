"""`python -m benchmarks`: start the tests' Dovecot, seed the deterministic mailbox, time
mailcli and its peers (alternating, median of --runs), print one table and write the JSON.
Installs nothing: missing peers are named with their Debian package and skipped.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import imap_bench, local_bench, measure, newest_bench, peers, pop3_bench, report  # noqa: E402
from benchmarks.server import BenchServer, available  # noqa: E402

logger = logging.getLogger("benchmarks")
PARTS = ("imap", "newest", "pop3", "local")


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="messages in INBOX (default 10,000; "
                    "a few folders get 10%% more)")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and scenario (median; default 3)")
    ap.add_argument("--quick", action="store_true", help="smoke run: N=1,000 and 1 run")
    ap.add_argument("--only", default=",".join(PARTS),
                    help="comma list of imap,newest,pop3,local (newest: the newest-first probe)")
    ap.add_argument("--rtt-ms", type=float, default=0.0,
                    help="add this round-trip time to every IMAP/POP3 connection through a "
                         "loopback latency proxy (benchmarks/latency.py); e.g. 20")
    ap.add_argument("--tools", default="", help="comma list of tool names to run (default: all)")
    ap.add_argument("--fetchmail-mda", action="store_true",
                    help="also run fetchmail delivering through a shell MDA into a Maildir")
    ap.add_argument("--rss-scaling", action="store_true",
                    help="also measure peak RSS at N=1,000 (one run) to show growth with N")
    ap.add_argument("--timeout", type=float, default=0,
                    help="per-command timeout in seconds (default 120 + 0.1 s per message)")
    ap.add_argument("--mailcli", default="", help="command that runs mailcli (default: the venv's)")
    ap.add_argument("--workdir", type=Path, default=None, help="where tools write (default /tmp)")
    ap.add_argument("--json", type=Path, default=None,
                    help="JSON output (default benchmarks/results/<date>-n<N>.json)")
    ap.add_argument("--keep-work", action="store_true", help="keep every tool's local store")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="print the table of a saved JSON result and exit")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    if args.quick:
        args.n = 1_000 if args.n == 10_000 else args.n
        args.runs = 1
    args.only = tuple(p for p in args.only.split(",") if p)
    bad = set(args.only) - set(PARTS)
    if bad:
        ap.error(f"--only: unknown part(s) {', '.join(sorted(bad))}")
    args.tools = tuple(t for t in args.tools.split(",") if t)
    return args


def _select(tools: list[peers.Tool], names: tuple[str, ...]) -> list[peers.Tool]:
    return [t for t in tools if not names or t.name in names]


def _scaling(small: list, large: list) -> list[dict]:
    rows = []
    by_small = {(r.scenario, r.tool): r for r in small}
    for r in large:
        s = by_small.get((r.scenario, r.tool))
        if s is None:
            continue
        a, b = s.max("rss_kb"), r.max("rss_kb")
        rows.append({"scenario": r.scenario, "tool": r.tool,
                     "small_mb": a / 1024 if a else None, "large_mb": b / 1024 if b else None,
                     "growth": (b / a) if a and b else None})
    return rows


def _protocols(args: argparse.Namespace, workroot: Path, servers: list[BenchServer]
               ) -> tuple[dict, list, list[dict] | None, float]:
    """Seed a server and run the IMAP and POP3 scenarios (and the N=1,000 RSS pass)."""
    t0 = time.monotonic()
    server = BenchServer(args.n)
    servers.append(server)
    server.add_latency(args.rtt_ms)
    corpus = server.corpus
    logger.info("seeded %d messages (%.0f MB) in %.1f s", corpus["messages"], corpus["bytes"] / 1e6,
                time.monotonic() - t0)
    timeout = args.timeout or 120 + 0.1 * corpus["messages"]
    imap_tools = _select(peers.imap_tools(), args.tools)
    pop3_tools = _select(peers.pop3_tools(args.fetchmail_mda), args.tools)
    # every store stays until the end (see main): check the room for all of them first
    stores = args.runs * ((len(imap_tools) if "imap" in args.only else 0)
                          + (1 if "newest" in args.only and imap_tools else 0)
                          + (2 * len(pop3_tools) if "pop3" in args.only else 0))
    measure.check_room(workroot, stores * corpus["bytes"] * 1.2)
    results: list = []
    if "imap" in args.only and imap_tools:
        results += imap_bench.run(server, imap_tools, args.runs, timeout, workroot)
    if "newest" in args.only and imap_tools:
        results += newest_bench.run(server, imap_tools, args.runs, timeout, workroot)
    if "pop3" in args.only and pop3_tools:
        results += pop3_bench.run(server, pop3_tools, args.runs, timeout, workroot)
    scaling = None
    if args.rss_scaling and args.n > 1_000:
        server.stop()
        servers.remove(server)
        small_server = BenchServer(1_000)
        servers.append(small_server)
        small_server.add_latency(args.rtt_ms)
        small: list = []
        if "imap" in args.only:
            small += imap_bench.run(small_server, imap_tools, 1, timeout, workroot,
                                    scenarios=(imap_bench.INITIAL,))
        if "pop3" in args.only:
            small += pop3_bench.run(small_server, pop3_tools, 1, timeout, workroot,
                                    scenarios=(pop3_bench.KEEP,))
        scaling = _scaling(small, results)
    return corpus, results, scaling, timeout


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    if args.from_json:
        print(report.table(json.loads(args.from_json.read_text())))
        return 0
    if args.mailcli:
        peers.set_mailcli_command(args.mailcli.split())
    else:
        # an installed package has its bytecode compiled (pip does it); the editable
        # checkout may not (PYTHONDONTWRITEBYTECODE), which would add ~70 ms to every run
        import compileall
        compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "mailcli"), quiet=1)
    if not available():
        print("benchmarks: Dovecot is needed: apt-get install dovecot-imapd dovecot-pop3d", file=sys.stderr)
        return 2
    missing = peers.missing_packages()
    if missing:
        print(f"benchmarks: peers not installed, skipped: {', '.join(missing)} "
              f"(apt-get install {' '.join(missing)})", file=sys.stderr)
    if not measure.TIME:
        print("benchmarks: /usr/bin/time is missing (apt-get install time): peak RSS falls back "
              "to wait4, which counts the harness's own memory", file=sys.stderr)
    started = dt.datetime.now().astimezone()
    workroot = Path(tempfile.mkdtemp(prefix="mailcli-bench-", dir=args.workdir))
    workroot.chmod(0o755)          # getmail delivers as nobody when we are root
    # Every tool's store stays until the end: deleting one between timed runs made the next
    # tool's file creations slow on ext4 without a journal (this machine's root file
    # system), which skips inodes freed in the last minutes one by one (0.02 -> 1 ms per
    # file). The probe records what a file creation costs here, before and after.
    create_us = {"start": measure.create_cost_us(workroot)}
    if create_us["start"] > measure.SLOW_CREATE_US:
        print(f"benchmarks: creating a file takes {create_us['start']:.0f} us here (usually "
              "~20): many files were deleted nearby in the last minutes; every tool's figures "
              "are inflated by it (wait a few minutes, or use --workdir elsewhere)", file=sys.stderr)
    servers: list[BenchServer] = []
    results: list = []
    scaling: list[dict] | None = None
    local: dict | None = None
    corpus: dict = {"n": 0, "messages": 0, "bytes": 0, "folders": {}}
    timeout = args.timeout or 120.0
    try:
        if {"imap", "newest", "pop3"} & set(args.only):
            corpus, results, scaling, timeout = _protocols(args, workroot, servers)
        if "local" in args.only:
            local = {"help": local_bench.help_startup(),
                     "scripts": local_bench.scripts(args.quick, args.timeout or 1800)}
    finally:
        try:
            create_us["end"] = measure.create_cost_us(workroot)
        except OSError as exc:     # e.g. a full disk: the servers must still be stopped
            logger.warning("file creation probe failed: %s", exc)
        for s in servers:
            s.stop()
        if not args.keep_work:
            shutil.rmtree(workroot, ignore_errors=True)
    data = report.build(
        {"n": args.n, "runs": args.runs, "quick": args.quick, "only": list(args.only),
         "tools": list(args.tools), "timeout_s": timeout, "rtt_ms": args.rtt_ms,
         "file_create_us": {k: round(v, 1) for k, v in create_us.items()}},
        corpus, peers.versions(), measure.rss_method(), results, scaling, local, started)
    print(report.table(data))
    path = report.write_json(data, args.json, started)
    print(f"JSON: {path}")
    if args.keep_work:
        print(f"tool work dirs kept in {workroot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
