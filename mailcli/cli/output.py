"""Output helpers for the CLI: --json documents on stdout, human tables that fit the
terminal, colour only on a TTY without NO_COLOR. stdout carries data only."""
from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON document on stdout.")


def settings(ctx: click.Context) -> Any:
    return ctx.find_root().obj


def emit_json(doc: Any) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def style(text: str, **kw: Any) -> str:
    return click.style(text, **kw) if use_colour() else text


def warn(message: str) -> None:
    """A warning on stderr (never on stdout, which carries data only)."""
    click.echo(style(f"mailcli: warning: {message}", fg="yellow"), err=True)


def note(message: str) -> None:
    """Information for a human on stderr (e.g. "nothing to show")."""
    click.echo(message, err=True)
