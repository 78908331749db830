"""Consumers of the watcher's NewMail events: the new-mail hook and desktop notifications.

The hook (`--hook CMD`, else the account's `on_new_mail`, else [general] on_new_mail)
runs through the shell (`/bin/sh -c`) in a session of its own, with the batch as a JSON
array in `list --json` shape on stdin and MAILCLI_ACCOUNT, MAILCLI_FOLDER and
MAILCLI_NEW_COUNT in its environment. Each run is a thread of its own, so a slow hook
never delays the watcher's next sync; after `timeout` seconds (60) its process group is
killed. A non-zero exit, a kill or a hook that cannot start is reported as HookFailed
(and logged) and never stops anything. What the hook prints goes to the log, never to
stdout (which belongs to `watch --json`).

Notifications: `notify-send` when it is installed (nothing at all otherwise: a server
has no desktop); sender and subject neutralised (control characters shown, not obeyed;
the notification server's markup escaped).
"""
from __future__ import annotations

import html
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from mailcli.message.sanitize import safe_line
from mailcli.sync.watch_events import Emit, HookFailed, NewMail, WatchEvent

logger = logging.getLogger(__name__)

HOOK_TIMEOUT = 60.0
NOTIFY_TIMEOUT = 10.0
_SHOWN = 5          # messages listed in one notification


class HookRunner:
    """Calls the hook for each NewMail event; reports failures through `emit`."""

    def __init__(self, command_for: Callable[[str], str | None], emit: Emit,
                 timeout: float = HOOK_TIMEOUT) -> None:
        self.command_for = command_for
        self.emit = emit
        self.timeout = timeout
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __call__(self, ev: WatchEvent) -> None:
        if not isinstance(ev, NewMail) or not ev.messages:
            return
        command = self.command_for(ev.account)
        if not command:
            return
        t = threading.Thread(target=self._run, args=(command, ev), daemon=True,
                             name=f"hook:{ev.account}")
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def _run(self, command: str, ev: NewMail) -> None:
        payload = json.dumps([m.to_json() for m in ev.messages], ensure_ascii=False).encode()
        env = {**os.environ, "MAILCLI_ACCOUNT": ev.account, "MAILCLI_FOLDER": ev.folder,
               "MAILCLI_NEW_COUNT": str(len(ev.messages))}
        try:
            proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        except OSError as exc:
            logger.warning("%s: new-mail hook could not start: %s", ev.account, exc)
            self.emit(HookFailed(ev.account, command=command, folder=ev.folder,
                                 error=str(exc)))
            return
        with self._lock:
            self._running.add(proc)
        try:
            try:
                out, _ = proc.communicate(payload, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill(proc, signal.SIGKILL)
                out, _ = proc.communicate()
                logger.warning("%s: new-mail hook killed after %.0f s: %s", ev.account,
                               self.timeout, command)
                self.emit(HookFailed(ev.account, command=command, folder=ev.folder,
                                     timed_out=True))
                return
        finally:
            with self._lock:
                self._running.discard(proc)
        if out:
            logger.info("%s: hook said: %s", ev.account,
                        safe_line(out[:2000].decode("utf-8", "replace")))
        if proc.returncode != 0:
            logger.warning("%s: new-mail hook exited %s: %s", ev.account, proc.returncode,
                           command)
            self.emit(HookFailed(ev.account, command=command, exit_code=proc.returncode,
                                 folder=ev.folder))

    def close(self, grace: float = 1.0) -> None:
        """Stopping: hooks still running after `grace` seconds get SIGTERM (their whole
        process group)."""
        end = time.monotonic() + grace
        for t in self._threads:
            t.join(timeout=max(0.0, end - time.monotonic()))
        with self._lock:
            running = list(self._running)
        for proc in running:
            _kill(proc, signal.SIGTERM)
        for t in self._threads:
            t.join(timeout=1.0)


def _kill(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass


class DesktopNotifier:
    """notify-send for each NewMail event, when notify-send is installed."""

    def __init__(self, program: str | None = None) -> None:
        self.program = program or shutil.which("notify-send")

    def __call__(self, ev: WatchEvent) -> None:
        if self.program is None or not isinstance(ev, NewMail) or not ev.messages:
            return
        threading.Thread(target=self._send, args=(ev,), daemon=True, name="notify").start()

    def _send(self, ev: NewMail) -> None:
        assert self.program is not None
        summary, body = notification_text(ev)
        try:
            subprocess.run([self.program, "--app-name=mailcli", summary, body],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=NOTIFY_TIMEOUT, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            logger.info("notify-send failed: %s", exc)


def notification_text(ev: NewMail) -> tuple[str, str]:
    """(summary, body) of a notification: neutralised, the notification server's markup
    escaped."""
    n = len(ev.messages)
    summary = f"{n} new message{'s' if n != 1 else ''} in {ev.account}/{ev.folder}"
    lines = []
    for m in ev.messages[-_SHOWN:]:
        lines.append(f"{m.from_ or '(no sender)'}: {m.subject or '(no subject)'}")
    if n > _SHOWN:
        lines.append(f"... and {n - _SHOWN} more")
    clean = [html.escape(safe_line(x)[:200], quote=False) for x in lines]
    return html.escape(safe_line(summary), quote=False), "\n".join(clean)
