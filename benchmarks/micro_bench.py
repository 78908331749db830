"""Per-message CPU of the pieces a download spends it on, without a server, so that a
change too small for the end-to-end runs' drift can still be measured: the index parse
(`parse_for_index`) and the address book's parse of its From/To/Cc (`address_pairs`), both
in the parse workers; the flag scan's FETCH reader (`imap_wire._remote_flags`); and the
store path of one message (`Store.stage` + `commit_staged`: file, row, FTS, contacts;
the parse precomputed, batches of 500). Process CPU, best of --repeat; the benchmark
mailbox's messages (benchmarks.seed). Trees are alternated, so drift hits each alike.

    .venv/bin/python -m benchmarks.micro_bench --n 2000 \\
        --tree old=/tmp/old-checkout --tree new=.

A --tree is a directory holding a `mailcli` package (e.g. `git worktree add /tmp/old REV`).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_CHILD = r'''
import json, sys, tempfile, time
tree, n, repeat, root = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, tree)
sys.path.insert(1, REPO)
from benchmarks import seed
from mailcli.accounts.imap_wire import _remote_flags
from mailcli.message.parse import parse_for_index
from mailcli.model import Flag
from mailcli.store import Store
from mailcli.store.contacts import address_pairs

raws = list(seed.messages("INBOX", n))
items = [b"%d (UID %d FLAGS (\\Seen%s) MODSEQ (%d))" % (i, i, b" \\Flagged" if i % 7 else b"", i + 5)
         for i in range(1, 11001)]
best = {"parse_ms": 1e9, "address_pairs_ms": 1e9, "flag_scan_11000_ms": 1e9, "store_ms": 1e9}
for _ in range(repeat):
    t = time.process_time()
    parsed = [parse_for_index(r) for r in raws]
    best["parse_ms"] = min(best["parse_ms"], (time.process_time() - t) / n * 1000)
    t = time.process_time()
    _remote_flags(items)
    best["flag_scan_11000_ms"] = min(best["flag_scan_11000_ms"], (time.process_time() - t) * 1000)
    t = time.process_time()
    pairs = [address_pairs(p.from_, p.to, p.cc) for p in parsed]
    best["address_pairs_ms"] = min(best["address_pairs_ms"], (time.process_time() - t) / n * 1000)
    d = tempfile.mkdtemp(dir=root)   # kept until the end: see main()
    with Store(d) as st:
        t = time.process_time()
        for c in range(0, n, 500):
            with st.batch():
                for i in range(c, min(c + 500, n)):
                    s = st.stage("bench", "INBOX", raws[i], flags={Flag.SEEN}, uid=i + 1)
                    st.commit_staged(s, parsed[i], pairs[i])
        best["store_ms"] = min(best["store_ms"], (time.process_time() - t) / n * 1000)
print(json.dumps(best))
'''


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="messages (default 2,000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of (default 3)")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the trees (default 2)")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=DIR",
                    help="a mailcli source tree (repeatable; default: this checkout)")
    args = ap.parse_args(argv)
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": str(REPO)}
    code = _CHILD.replace("REPO", repr(str(REPO)))
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    # The stores stay until the end: deleting thousands of files right before the next
    # tree's store path made its file creations slower on ext4 without a journal (see
    # benchmarks/README.md, "file creation"), i.e. the trees measured each other.
    root = tempfile.mkdtemp(prefix="mailcli-micro-")
    try:
        for _ in range(args.rounds):
            for name, d in trees.items():
                out = subprocess.run([sys.executable, "-c", code, str(Path(d).resolve()), str(args.n),
                                      str(args.repeat), root], capture_output=True, text=True, check=True)
                results[name].append(json.loads(out.stdout))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for name, rows in results.items():
        line = ", ".join(f"{key} {min(r[key] for r in rows):.3f}" for key in rows[0])
        print(f"{name:>8}: {line}  (process CPU, best of {args.repeat} x {args.rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
