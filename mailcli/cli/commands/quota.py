"""`mailcli quota [ACCOUNT]...`: server storage used and limit (IMAP QUOTA; POP3: the
messages and bytes on the server), with a warning on stderr at 90 % or more."""
from __future__ import annotations

from typing import Any

import click

from mailcli.cli import complete
from mailcli.cli.output import emit_json, json_option, one_line, settings, style, warn

WARN_PERCENT = 90.0


@click.command()
@click.argument("accounts", nargs=-1, metavar="[ACCOUNT]...", shell_complete=complete.accounts)
@json_option
@click.pass_context
def quota(ctx: click.Context, accounts: tuple[str, ...], as_json: bool) -> None:
    """Server storage used and limit per account.

    IMAP: the QUOTA extension; POP3: the messages and bytes on the server. A warning
    goes to stderr when an account is 90 % full or more.
    """
    from mailcli.cli.envelopes import human_size
    from mailcli.cli.output import width
    from mailcli.cli.table import Column, render
    from mailcli.service import combine_exit_codes

    svc = settings(ctx).service()
    total = len(svc.account_configs(list(accounts) or None))   # unknown account: exit 4 first
    errors: dict[str, Any] = {}
    quotas = svc.quota(list(accounts) or None, errors=errors)
    if as_json:
        emit_json([{"account": q.account, "used_bytes": q.used_bytes,
                    "limit_bytes": q.limit_bytes, "messages": q.messages,
                    "percent": q.percent} for q in quotas])
    elif quotas or not errors:
        rows = [[q.account, human_size(q.used_bytes) if q.used_bytes is not None else "-",
                 human_size(q.limit_bytes) if q.limit_bytes else "no limit",
                 f"{q.percent:.1f}%" if q.percent is not None else "-",
                 str(q.messages) if q.messages is not None else "-"] for q in quotas]
        cols = [Column("ACCOUNT", max=24), Column("USED", right=True, max=10),
                Column("LIMIT", right=True, max=10),
                Column("USE", right=True, max=7, style=_full_red),
                Column("MESSAGES", right=True, max=10)]
        for line in render(cols, rows, width(), header=True):
            click.echo(line)
    for q in quotas:
        if q.percent is not None and q.percent >= WARN_PERCENT:
            warn(f"account {q.account} is {q.percent:.1f} % full "
                 f"({human_size(q.used_bytes)} of {human_size(q.limit_bytes)})")
    # like fetch: what worked is printed above, each failing account gets one line
    for name, exc in errors.items():
        click.echo(f"mailcli: error: {name}: {one_line(exc.message)}", err=True)
    if errors:
        ctx.exit(combine_exit_codes([int(e.exit_code) for e in errors.values()], total))


def _full_red(cell: str, row: object) -> str:
    try:
        full = float(cell.strip().rstrip("%")) >= WARN_PERCENT
    except ValueError:
        return cell
    return style(cell, fg="red", bold=True) if full else cell
