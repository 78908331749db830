"""Start-up benchmark: wall time of `mailcli --help` and of `mailcli list` on a
100,000-message cache, each the median of 20 fresh processes (issue 6 targets:
100 ms and 250 ms on this machine).

    python -m benchmarks.startup_bench [--n 100000] [--data DIR] [--runs 20]

The cache is built once with benchmarks.store_bench's deterministic generator through
Store.deliver (fsync off while building: building is not what is measured); pass
--data DIR to keep it between runs. A bare `python -c pass` is timed too, as the floor.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.store_bench import make_message
from mailcli.store import Store

TARGETS = {"mailcli --help": 0.100, "mailcli list": 0.250}


def build_cache(data: Path, n: int) -> None:
    with Store(data) as store:
        have = store.count()
        if have >= n:
            print(f"cache: {have} messages already in {data}")
            return
        rng = random.Random(20240601)
        print(f"cache: building {n} messages in {data} ...", flush=True)
        t0 = time.perf_counter()
        i = 0
        while i < n:
            chunk = [make_message(j, rng) for j in range(i, min(i + 1000, n))]
            with store.batch():
                for folder, raw, flags in chunk:
                    store.deliver("bench", folder, raw, flags=flags, uid=i + 1, fsync=False)
                    i += 1
        print(f"cache: built in {time.perf_counter() - t0:.0f} s", flush=True)


def timed_runs(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode(errors='replace')}")
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--data", type=Path, help="cache dir to build or reuse (default: temporary)")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args(argv)
    data = args.data or Path(tempfile.mkdtemp(prefix="mailcli-startup-"))
    build_cache(data, args.n)
    config = data / "bench-config.toml"
    config.write_text('[accounts.bench]\nprotocol = "imap"\nhost = "127.0.0.1"\n'
                      'username = "bench"\npassword_env = "BENCH_PASSWORD"\n')
    env = dict(os.environ, MAILCLI_CONFIG=str(config), MAILCLI_DATA=str(data), COLUMNS="120")
    mailcli = [sys.executable, "-m", "mailcli"]
    cases = {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "mailcli --help": [*mailcli, "--help"],
        "mailcli list": [*mailcli, "list"],
        "mailcli list -f INBOX --unread": [*mailcli, "list", "-f", "INBOX", "--unread"],
        "mailcli list --json": [*mailcli, "list", "--json"],
    }
    print(f"startup_bench: median of {args.runs} fresh processes, {args.n} cached messages")
    ok = True
    for label, cmd in cases.items():
        times = timed_runs(cmd, env, args.runs)
        med = statistics.median(times)
        target = TARGETS.get(label)
        verdict = ""
        if target is not None:
            verdict = f"  target {target * 1000:.0f} ms: {'ok' if med <= target else 'MISSED'}"
            ok = ok and med <= target
        print(f"  {label:<32} {med * 1000:7.1f} ms  (min {min(times) * 1000:.1f}){verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
