"""`mailcli account add|list|test|password|authorize` (add and authorize live in their own modules)."""
from __future__ import annotations

import dataclasses
from typing import Any

import click

from mailcli.cli import complete
from mailcli.cli.commands.account_add import add
from mailcli.cli.commands.account_authorize import authorize
from mailcli.cli.output import emit_json, json_option, settings, warn


@click.group()
def account() -> None:
    """Manage accounts: add, list, test, password, authorize."""


account.add_command(add)
account.add_command(authorize)


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
        click.echo("no accounts configured (add one with 'mailcli account add')", err=True)
        return
    for r in rows:
        click.echo(f"{r['account']:<16} {r['protocol']:<5} {r['username']}@{r['host']}:{r['port']} ({r['security']})")


@account.command("test")
@click.argument("name", shell_complete=complete.accounts)
@json_option
@click.pass_context
def test_account(ctx: click.Context, name: str, as_json: bool) -> None:
    """Connect and log in; print capabilities, quota and folder count."""
    from mailcli.message.sanitize import safe_line

    info = _jsonable(settings(ctx).service().account_test(name))
    if as_json:
        emit_json(info)
        return
    click.echo(f"{name}: login ok")
    for key in ("protocol", "server", "folders"):
        if key in info:
            click.echo(f"  {key}: {safe_line(str(info[key]))}")
    caps = info.get("capabilities") or []
    click.echo("  capabilities: " + safe_line(" ".join(str(c) for c in caps)))
    q = info.get("quota")
    if isinstance(q, dict):
        from mailcli.cli.envelopes import human_size

        used, limit = q.get("used_bytes"), q.get("limit_bytes")
        text = f"{human_size(used) if used is not None else '?'} of " \
               f"{human_size(limit) if limit else 'no limit'}"
        if q.get("messages") is not None:
            text += f", {q['messages']} messages"
        click.echo(f"  quota: {text}")
    else:
        click.echo("  quota: not reported by the server")


@account.command("password")
@click.argument("name", shell_complete=complete.accounts)
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the password from the first line of stdin (for scripts).")
@click.pass_context
def password(ctx: click.Context, name: str, from_stdin: bool) -> None:
    """Store an account's password in the system keyring.

    The password is asked for twice and never echoed (on a terminal), or read from
    stdin with --stdin.
    """
    import sys

    from mailcli.errors import UsageError
    from mailcli.service import setup

    cfg = settings(ctx).service().account_config(name)
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
        if not secret:
            raise UsageError("no password on stdin")
        setup.store_keyring_password(cfg, secret)
        click.echo(f"password for {name!r} stored in the system keyring", err=True)
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        # getpass would fall back to echoing with a warning; say what to do instead
        raise UsageError("account password asks on a terminal, and there is none",
                         hint=f"pipe it: `pass show mail/{name} | mailcli account password "
                              f"--stdin {name}`, or set password_command in the config")
    if cfg.secret.command or cfg.secret.env:
        source = "password_command" if cfg.secret.command else "password_env"
        warn(f"account {name!r} takes its password from {source}; the keyring entry is used "
             f"only once you remove that line")
    secret = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True,
                          err=True)
    setup.store_keyring_password(cfg, secret)
    click.echo(f"password for {name!r} stored in the system keyring", err=True)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        doc = {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if hasattr(value, "percent"):
            doc["percent"] = value.percent
        return doc
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value
    return value
