"""Push latency of `mailcli watch`: from the APPEND of a message by another client to the
start of the new-mail hook, on loopback.

    python -m benchmarks.watch_bench [--n 20] [--modes notify,idle,poll] [--gap 0.3]

Starts the tests' private Dovecot twice (as it is: NOTIFY and IDLE; trimmed to IDLE
without NOTIFY), runs the real `mailcli watch --json` (default timings) with a shell hook
that writes the clock, and for each of N messages: APPEND over IMAP from a second client,
then wait for the hook. Reported per mode: the APPEND-to-hook latency (median, p90,
max) and APPEND-to-`new_mail`-line latency. The clock is taken just before the APPEND
command is sent (the client is already logged in), so the figures are what a user sees
from the delivery. "poll" (a server without IDLE, poll_interval = "2s") is for comparison.

Target (issue 14): under 1 s median with IDLE/NOTIFY (aerc-style IDLE clients are about
there).
"""
from __future__ import annotations

import argparse
import imaplib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.servers.dovecot import PASSWORD, Dovecot, available  # noqa: E402

NO_NOTIFY = ("IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE NAMESPACE SPECIAL-USE "
             "CONDSTORE QRESYNC UIDPLUS MOVE")
NO_PUSH = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE NAMESPACE SPECIAL-USE UIDPLUS MOVE"


def message(i: int) -> bytes:
    return (f"From: Bench <bench@example.test>\r\nTo: me@example.test\r\n"
            f"Subject: push {i}\r\nMessage-ID: <push{i}.{time.time()}@example.test>\r\n"
            f"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody {i}\r\n").encode()


def run_mode(mode: str, n: int, gap: float, work: Path) -> dict[str, object]:
    caps = {"notify": None, "idle": NO_NOTIFY, "poll": NO_PUSH}[mode]
    server = Dovecot.start(capabilities=caps)
    try:
        user = server.add_user()
        server.create_folder(user, "Archive")
        home = work / mode
        home.mkdir()
        stamps = home / "hook.times"
        hook = f"cat >/dev/null; date +%s.%N >> {stamps}"
        (home / "config.toml").write_text(f"""
[accounts.bench]
protocol = "imap"
host = "127.0.0.1"
port = {server.ports.imaps}
security = "tls"
tls_ca_file = "{server.ca_file}"
username = "{user}"
password_env = "MAILCLI_BENCH_PASSWORD"
poll_interval = "2s"
on_new_mail = "{hook}"
""")
        env = {**os.environ, "MAILCLI_CONFIG": str(home / "config.toml"),
               "MAILCLI_DATA": str(home / "data"), "MAILCLI_BENCH_PASSWORD": PASSWORD}
        proc = subprocess.Popen([sys.executable, "-m", "mailcli", "watch", "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines: list[tuple[float, dict[str, object]]] = []
        started = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                ev = json.loads(line)
                lines.append((time.time(), ev))
                if ev["event"] == "started":
                    started.set()

        threading.Thread(target=read, daemon=True).start()
        if not started.wait(60):
            proc.kill()
            raise RuntimeError(f"{mode}: mailcli watch did not start")
        got_mode = next(ev.get("mode") for _, ev in lines if ev["event"] == "started")
        client = imaplib.IMAP4("127.0.0.1", server.ports.imap)
        client.login(user, PASSWORD)
        hook_lat: list[float] = []
        event_lat: list[float] = []
        try:
            for i in range(n):
                before = len(stamps.read_text().split()) if stamps.exists() else 0
                events_before = sum(1 for _, ev in lines if ev["event"] == "new_mail")
                raw = message(i)
                t0 = time.time()
                client.append("INBOX", None, None, raw)
                end = time.monotonic() + 15
                while time.monotonic() < end:
                    done = stamps.exists() and len(stamps.read_text().split()) > before
                    if done:
                        break
                    time.sleep(0.005)
                else:
                    raise RuntimeError(f"{mode}: no hook for message {i}")
                hook_lat.append(float(stamps.read_text().split()[before]) - t0)
                new_mail = [t for t, ev in lines if ev["event"] == "new_mail"][events_before:]
                if new_mail:
                    event_lat.append(new_mail[0] - t0)
                time.sleep(gap)
        finally:
            client.logout()
            proc.terminate()
            proc.wait(10)
        return {"mode": got_mode, "n": n, "hook": summary(hook_lat), "event": summary(event_lat)}
    finally:
        server.stop()


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"median": statistics.median(ordered),
            "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
            "min": ordered[0], "max": ordered[-1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20, help="messages per mode (default 20)")
    ap.add_argument("--modes", default="notify,idle,poll")
    ap.add_argument("--gap", type=float, default=0.3, help="seconds between two messages")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if not available():
        print("dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="mailcli-watch-bench-") as tmp:
        for mode in args.modes.split(","):
            res = run_mode(mode.strip(), args.n, args.gap, Path(tmp))
            results.append(res)
            h, e = res["hook"], res["event"]
            assert isinstance(h, dict) and isinstance(e, dict)
            print(f"{mode:7s} (watch mode {res['mode']}), n={res['n']}: APPEND->hook median "
                  f"{h['median'] * 1000:.0f} ms, p90 {h['p90'] * 1000:.0f} ms, max "
                  f"{h['max'] * 1000:.0f} ms; APPEND->new_mail line median "
                  f"{e['median'] * 1000:.0f} ms", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
