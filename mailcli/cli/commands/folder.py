"""`mailcli folder create/rename/delete`: folder management, queued for the server like
flag/move/delete (pushed at the next fetch, or at once with --now). Thin shells over the
service."""
from __future__ import annotations

import click

from mailcli.cli import complete
from mailcli.cli.commands.change import now_option
from mailcli.cli.output import settings

account_option = click.option("-a", "--account", metavar="ACCOUNT", is_eager=True,
                              help="The account (default: the first configured).",
                              shell_complete=complete.accounts)


def _account(ctx: click.Context, account: str | None) -> str:
    return account or settings(ctx).service().default_account()


@click.group(no_args_is_help=True)
def folder() -> None:
    """Create, rename or delete folders (queued for the server)."""


@folder.command()
@click.argument("name")
@account_option
@now_option
@click.pass_context
def create(ctx: click.Context, name: str, account: str | None, now: bool) -> None:
    """Create folder NAME ('/' separates levels: Projects/2026)."""
    from mailcli.message.sanitize import safe_line

    acct = _account(ctx, account)
    made = settings(ctx).service().create_folder(acct, name, now=now)
    click.echo(f"created {safe_line(acct)}/{safe_line(made)}" + ("" if now else _queued()))


@folder.command()
@click.argument("name", shell_complete=complete.folders)
@click.argument("new")
@account_option
@now_option
@click.pass_context
def rename(ctx: click.Context, name: str, new: str, account: str | None, now: bool) -> None:
    """Rename folder NAME to NEW (on the server; the cache follows at that fetch)."""
    from mailcli.message.sanitize import safe_line

    acct = _account(ctx, account)
    settings(ctx).service().rename_folder(acct, name, new, now=now)
    click.echo(f"renamed {safe_line(acct)}/{safe_line(name)} to {safe_line(new)}"
               + ("" if now else _queued()))


@folder.command()
@click.argument("name", shell_complete=complete.folders)
@account_option
@click.option("--force", is_flag=True, help="Delete it even if it holds messages.")
@now_option
@click.pass_context
def delete(ctx: click.Context, name: str, account: str | None, force: bool, now: bool) -> None:
    """Delete folder NAME. A folder holding mail needs --force; mail that never
    reached the server is never deleted."""
    from mailcli.message.sanitize import safe_line

    acct = _account(ctx, account)
    n = settings(ctx).service().delete_folder(acct, name, force=force, now=now)
    gone = f" and its {n} message{'s' if n != 1 else ''}" if n else ""
    click.echo(f"deleted {safe_line(acct)}/{safe_line(name)}{gone}" + ("" if now else _queued()))


def _queued() -> str:
    return " (on the server at the next fetch; --now does it at once)"
