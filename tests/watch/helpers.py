"""Running `mailcli watch --json` as a real process in tests: its JSON lines collected by
a reader thread, a hook that records what it got, and APPEND from "another client"."""
from __future__ import annotations

import imaplib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.servers.dovecot import PASSWORD, Dovecot

# short timings: keepalive (IDLE between liveness checks), first reconnect delay, hook limit
FAST_ENV = {"MAILCLI_WATCH_KEEPALIVE": "3", "MAILCLI_WATCH_BACKOFF": "0.2",
            "MAILCLI_WATCH_HOOK_TIMEOUT": "2"}

HOOK = """import json, os, sys, time
data = sys.stdin.read()
out = {"stdin": json.loads(data), "account": os.environ.get("MAILCLI_ACCOUNT"),
       "folder": os.environ.get("MAILCLI_FOLDER"), "count": os.environ.get("MAILCLI_NEW_COUNT"),
       "time": time.time()}
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps(out) + "\\n")
"""


def hook_command(tmp_path: Path) -> tuple[str, Path]:
    """A hook command that appends one JSON line per run to the returned file."""
    script = tmp_path / "hook.py"
    script.write_text(HOOK)
    out = tmp_path / "hook.jsonl"
    return f"{sys.executable} {script} {out}", out


def hook_runs(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class WatchProcess:
    """`mailcli watch --json ARGS` with its stdout lines parsed as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        full = {**os.environ, **FAST_ENV, **(env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "mailcli", "watch", "--json", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=full)
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            self.events.append(json.loads(line))   # every stdout line is one JSON object

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["event"] == kind
                and all(e.get(k) == v for k, v in match.items())]

    def wait(self, kind: str, timeout: float = 10.0, count: int = 1,
             **match: Any) -> list[dict[str, Any]]:
        def check() -> list[dict[str, Any]] | None:
            if self.proc.poll() is not None and len(self.of(kind, **match)) < count:
                raise AssertionError(f"watch exited {self.proc.returncode}: {self.finish()}")
            got = self.of(kind, **match)
            return got if len(got) >= count else None
        return wait_for(check, timeout, f"{count} {kind} event(s) {match}; got {self.events}")

    def terminate(self, timeout: float = 5.0) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took to exit)."""
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        took = time.monotonic() - began
        self.finish()
        return code, took

    def finish(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._reader.join(timeout=5)
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            self.stderr = self.proc.stderr.read()
            self.proc.stderr.close()
        return self.stderr

    def __enter__(self) -> WatchProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


def append(server: Dovecot, user: str, raw: bytes, folder: str = "INBOX") -> None:
    """APPEND over IMAP, as another mail client (or an MTA through LMTP) would deliver."""
    m = imaplib.IMAP4("127.0.0.1", server.ports.imap)
    try:
        m.login(user, PASSWORD)
        typ, data = m.append(f'"{folder}"', None, None, raw)
        assert typ == "OK", data
    finally:
        m.logout()


class SwitchProxy:
    """A loopback TCP proxy that the test can cut (every open connection dropped at
    once), stall (nothing forwarded, nothing closed: only a timeout notices) and make
    refuse new connections (accepted and closed at once), like a network that goes away
    and comes back."""

    def __init__(self, target_port: int) -> None:
        import socket

        self.target = ("127.0.0.1", target_port)
        self.refusing = threading.Event()
        self.stalled = threading.Event()     # forward nothing (a dead peer behind a NAT)
        self._socket = socket
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port: int = self._sock.getsockname()[1]
        self._open: list[Any] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.refusing.is_set():
                client.close()
                continue
            try:
                upstream = self._socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: Any, dst: Any) -> None:
        try:
            while data := src.recv(65536):
                while self.stalled.is_set() and not self._stop.is_set():
                    time.sleep(0.05)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """Drop every open connection (both sides see the link go)."""
        with self._lock:
            conns, self._open = self._open, []
        for s in conns:
            try:
                s.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._sock.close()

    def __enter__(self) -> SwitchProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
