"""TUI benchmark: first paint of `mailcli tui` on a 100,000-message folder, and scrolling.

    python -m benchmarks.tui_bench [--n 100000] [--data DIR] [--runs 5]

Builds (once; reused when --data already holds it) a store whose INBOX holds N messages
from benchmarks.store_bench's deterministic generator, then starts the real MailApp
(headless, 120x36) over the real Service and measures:

- first paint: from App start (before run_test) to the first frame with message rows
  (the MainScreen's rows arrive and the list has drawn them);
- jump to the last message (End: a page at offset N-100 is fetched), then j and PageDown
  steps, next to an unbound key (what Pilot itself costs per key press and frame).

Target (issue 8): first paint < 1 s with 100,000 cached messages.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

CONFIG = """
[accounts.bench]
protocol = "imap"
host = "127.0.0.1"
port = 9
security = "tls"
username = "bench"
password_env = "MAILCLI_BENCH_PASSWORD"
email = "bench@example.test"
"""


def build(data: Path, n: int) -> None:
    from benchmarks.store_bench import make_message
    from mailcli.store import Store

    with Store(data) as store:
        have = store.count("bench", "INBOX")
        if have >= n:
            return
        print(f"building a {n:,}-message INBOX in {data} (once) ...", flush=True)
        rng = random.Random(20240601)
        t0 = time.perf_counter()
        i = have
        while i < n:
            chunk = [make_message(j, rng) for j in range(i, min(i + 1000, n))]
            with store.batch():
                for _, raw, flags in chunk:
                    i += 1
                    store.deliver("bench", "INBOX", raw, flags=flags, uid=i, fsync=False)
            if i % 20_000 == 0:
                print(f"  {i:,} ({time.perf_counter() - t0:.0f} s)", flush=True)


async def one_run() -> dict[str, float]:
    from mailcli.service import Service
    from mailcli.tui.app import MailApp
    from mailcli.tui.screens.main import MainScreen

    marks: dict[str, float] = {}
    original = MainScreen._rows_loaded

    def rows_loaded(self, source, generation, cursor, keep_id):  # type: ignore[no-untyped-def]
        original(self, source, generation, cursor, keep_id)
        if "rows" not in marks and source.total:
            marks["rows"] = time.perf_counter()
            self.call_after_refresh(lambda: marks.setdefault("paint", time.perf_counter()))

    MainScreen._rows_loaded = rows_loaded  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        service = Service.open()
        app = MailApp(service, poll_interval=None)
        async with app.run_test(size=(120, 36)) as pilot:
            while "paint" not in marks:
                await asyncio.sleep(0.001)
            lst = app.main.message_list
            total = lst.source.total
            assert lst.source.peek(0) is not None
            t1 = time.perf_counter()
            await pilot.press("end")
            while lst.source.peek(total - 1) is None:
                await asyncio.sleep(0.001)
            await pilot.pause()
            t_end = time.perf_counter() - t1
            await pilot.press("home")
            await pilot.pause()

            async def per_key(key: str, n: int = 15) -> list[float]:
                out = []
                for _ in range(n):
                    t2 = time.perf_counter()
                    await pilot.press(key)
                    while lst.current is None:   # a page still loading
                        await asyncio.sleep(0.001)
                    await pilot.pause()
                    out.append(time.perf_counter() - t2)
                return out

            baseline = await per_key("x")      # unbound: Pilot's own cost per key + frame
            j_steps = await per_key("j")
            pd_steps = await per_key("pagedown")
        service.close()
        return {"first_paint": marks["paint"] - t0, "rows": marks["rows"] - t0,
                "end": t_end, "baseline": statistics.median(baseline),
                "j": statistics.median(j_steps), "pagedown_median": statistics.median(pd_steps),
                "pagedown_max": max(pd_steps), "total": float(total)}
    finally:
        MainScreen._rows_loaded = original  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--data", type=Path, help="data dir to build/reuse (default: temporary)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    data = args.data or Path(tempfile.mkdtemp(prefix="mailcli-tui-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    (data / "config.toml").write_text(CONFIG)
    os.environ.update(MAILCLI_CONFIG=str(data / "config.toml"), MAILCLI_DATA=str(data / "data"),
                      MAILCLI_BENCH_PASSWORD="unused")
    build(data / "data", args.n)
    runs = [asyncio.run(one_run()) for _ in range(args.runs)]
    total = int(runs[0]["total"])
    first = [r["first_paint"] for r in runs]
    print(f"tui_bench: INBOX with {total:,} cached messages, {args.runs} runs, headless 120x36, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"first paint (App start -> rows on screen): first {first[0] * 1000:.0f} ms, "
          f"median {statistics.median(first) * 1000:.0f} ms, max {max(first) * 1000:.0f} ms "
          f"(target < 1000 ms) {'OK' if max(first) < 1.0 else 'MISSED'}")
    print(f"  rows ready (before the frame):  median "
          f"{statistics.median(r['rows'] for r in runs) * 1000:.0f} ms")
    print(f"jump to the last message (End):   median "
          f"{statistics.median(r['end'] for r in runs) * 1000:.0f} ms")
    base = statistics.median(r["baseline"] for r in runs)
    print(f"per key, headless Pilot (includes Pilot's own wait; an unbound key costs "
          f"{base * 1000:.0f} ms):")
    print(f"  j (next message):               median "
          f"{statistics.median(r['j'] for r in runs) * 1000:.0f} ms")
    print(f"  PageDown (new pages fetched):   median "
          f"{statistics.median(r['pagedown_median'] for r in runs) * 1000:.0f} ms, max "
          f"{max(r['pagedown_max'] for r in runs) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
