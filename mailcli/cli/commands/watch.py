"""`mailcli watch [ACCOUNT...]`: stay running and sync new mail as it arrives (IMAP
NOTIFY/IDLE, polling elsewhere), run the new-mail hook, optionally notify the desktop.

Thin over service.watch. Output: with --json exactly one SPEC `watch --json` object per
line on stdout and nothing else; without, one short human line per event (message text
neutralised). SIGINT/SIGTERM stop it within 5 s with exit 0 (locks released); when every
account failed for good (a refused login) it exits with that code (3).
"""
from __future__ import annotations

import json
import signal
import sys
import threading
from types import FrameType

import click

from mailcli.cli import complete
from mailcli.cli.output import one_line, settings
from mailcli.message.sanitize import safe_line


@click.command()
@click.argument("accounts", nargs=-1, metavar="[ACCOUNT]...", shell_complete=complete.accounts)
@click.option("--hook", metavar="CMD",
              help="Shell command run for each batch of new mail (the messages as a JSON array "
                   "on stdin; MAILCLI_ACCOUNT, MAILCLI_FOLDER, MAILCLI_NEW_COUNT set). "
                   "Default: on_new_mail from the config.")
@click.option("--notify", is_flag=True,
              help="Desktop notification for new mail (notify-send, where installed).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per line on stdout, one per event (nothing else).")
@click.pass_context
def watch(ctx: click.Context, accounts: tuple[str, ...], hook: str | None, notify: bool,
          as_json: bool) -> int:
    """Stay running: sync new mail the moment it arrives.

    Syncs once like fetch, then waits for changes: IMAP NOTIFY (all watched folders on
    one connection) or IDLE on the watch_folders (default INBOX), every other folder and
    POP3 accounts polled every poll_interval. What changed is synced at once; each batch
    of new mail runs the hook. Mail waiting in the Outbox is sent every poll_interval.
    Survives network loss (reconnects with backoff) and takes an account's lock only
    while it syncs, so a cron `mailcli fetch` keeps working. Stop it with Ctrl-C or
    SIGTERM.
    """
    from mailcli.service import State, WatchEvent

    svc = settings(ctx).service()
    names = list(accounts) or None
    svc.account_configs(names)   # an unknown account: NotFoundError before anything runs
    stop = threading.Event()
    out_lock = threading.Lock()

    def emit(ev: WatchEvent) -> None:
        if isinstance(ev, State):
            return
        line = json.dumps(ev.to_json(), ensure_ascii=True, default=str) if as_json \
            else human(ev)
        if line is None:
            return
        with out_lock:
            try:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):
                stop.set()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return svc.watch(names, emit, hook=hook, notify=notify, stop=stop)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def human(ev: object) -> str | None:
    """One line for a person (None: not worth a line)."""
    from mailcli.service import (
        Disconnected,
        HookFailed,
        NewMail,
        Reconnected,
        Started,
        Stopped,
        Synced,
    )

    if isinstance(ev, Started):
        return f"{ev.account}: watching ({ev.mode})"
    if isinstance(ev, Synced):
        where = f" {safe_line(ev.folder)}" if ev.folder else ""
        text = f"{ev.account}{where}: {ev.new} new, {ev.updated} updated, {ev.deleted} deleted"
        return text + "".join(f"; {one_line(e)}" for e in ev.errors)
    if isinstance(ev, NewMail):
        lines = [f"{ev.account} {safe_line(ev.folder)}: {len(ev.messages)} new"]
        lines += [f"  {m.id}  {safe_line(m.from_)[:40]}  {safe_line(m.subject)[:80]}"
                  for m in ev.messages[-10:]]
        return "\n".join(lines)
    if isinstance(ev, Disconnected):
        return f"{ev.account}: disconnected: {one_line(ev.error)}"
    if isinstance(ev, Reconnected):
        return f"{ev.account}: reconnected"
    if isinstance(ev, HookFailed):
        why = "timed out" if ev.timed_out else (ev.error or f"exit code {ev.exit_code}")
        return f"{ev.account}: hook failed ({one_line(why)}): {one_line(ev.command)}"
    if isinstance(ev, Stopped):
        return f"{ev.account}: stopped" + (f": {one_line(ev.error)}" if ev.error else "")
    return None
