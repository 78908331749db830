"""Output helpers for the CLI: --json documents on stdout, human tables that fit the
terminal, colour only on a TTY without NO_COLOR. stdout carries data only."""
from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from mailcli.cli.main import Settings

json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON document on stdout.")


def settings(ctx: click.Context) -> Settings:
    """The global options (and through them the service) of this invocation."""
    obj: Settings = ctx.find_root().obj
    return obj


def emit_json(doc: Any) -> None:
    """A JSON document on stdout. Besides C0 (escaped by json), DEL, C1, the bidi and line
    separator controls and lone surrogates are written as \\u escapes too: the values are
    unchanged for a JSON reader, and a terminal showing the raw document obeys none of them."""
    import json  # json and shutil on first use: start-up time (issue 15)

    text = json.dumps(doc, ensure_ascii=False, indent=2, default=str)
    click.echo(_JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


# only ever inside JSON strings (never structural), so escaping them keeps the document valid
_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def style(text: str, **kw: Any) -> str:
    return click.style(text, **kw) if use_colour() else text


def warn(message: str) -> None:
    """A warning on stderr (never on stdout, which carries data only)."""
    click.echo(style(f"mailcli: warning: {one_line(message)}", fg="yellow"), err=True)


def note(message: str) -> None:
    """Information for a human on stderr (e.g. "nothing to show")."""
    click.echo(one_line(message), err=True)


def one_line(text: object) -> str:
    """Text that may quote a server or a message, made safe for one terminal line:
    secrets redacted, escape sequences and control characters neutralized."""
    from mailcli.message.sanitize import safe_line
    from mailcli.service import redact

    return safe_line(redact(str(text)))


DEFAULT_PAGER = "less -FRX"


def page(text: str, enabled: bool = True) -> None:
    """`text` through $PAGER when stdout is a terminal (like git): default `less -FRX`
    (quits when it fits one screen, passes the colour codes we wrote, keeps the screen).
    -R is safe: message text reached us neutralized, the only escapes are our own styles.
    A missing pager, or PAGER="" / "cat", prints directly."""
    import subprocess

    command = os.environ.get("MAILCLI_PAGER", os.environ.get("PAGER", DEFAULT_PAGER)).strip()
    if not enabled or not sys.stdout.isatty() or command in ("", "cat"):
        click.echo(text, nl=False)
        return
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")   # a bare PAGER=less behaves like git's
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        click.echo(text, nl=False)
        return
    assert proc.stdin is not None
    try:
        proc.stdin.write(text.encode(sys.stdout.encoding or "utf-8", "replace"))
        proc.stdin.close()
    except BrokenPipeError:   # the reader quit early (q in less)
        pass
    while True:
        try:
            proc.wait()
            break
        except KeyboardInterrupt:   # Ctrl-C belongs to the pager, as in git
            continue
    if proc.returncode == 127:   # the shell did not find the pager: say it, then print
        warn(f"pager {command!r} not found; printing directly")
        click.echo(text, nl=False)
