"""`mailcli account add|list|test|password`."""
from __future__ import annotations

import click

from mailcli.cli.output import emit_json, json_option, settings


@click.group()
def account() -> None:
    """Manage accounts: add, list, test, password."""


@account.command("list")
@json_option
@click.pass_context
def list_accounts(ctx: click.Context, as_json: bool) -> None:
    """List the configured accounts."""
    svc = settings(ctx).service()
    rows = [{"account": a.name, "protocol": a.protocol, "host": a.host, "port": a.port,
             "security": a.security, "username": a.username, "email": a.email}
            for a in svc.account_configs()]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no accounts configured (add one with 'mailcli account add')")
        return
    for r in rows:
        click.echo(f"{r['account']:<16} {r['protocol']:<5} {r['username']}@{r['host']}:{r['port']} ({r['security']})")
