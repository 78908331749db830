"""`mailcli folders`, `mailcli list` and `mailcli search`: reading the local cache
(no network). Thin shells over the service's folders/list_envelopes/search."""
from __future__ import annotations

import click

from mailcli.cli.output import emit_json, json_option, note, settings


@click.command()
@click.argument("account", required=False)
@json_option
@click.pass_context
def folders(ctx: click.Context, account: str | None, as_json: bool) -> None:
    """Folders with total and unread counts (from the cache)."""
    from mailcli.cli.envelopes import folder_lines

    found = settings(ctx).service().folders(account)
    if as_json:
        emit_json([f.to_json() for f in found])
        return
    if not found:
        note("no folders cached yet (run 'mailcli fetch')")
        return
    for line in folder_lines(found):
        click.echo(line)


@click.command("list")
@click.option("-a", "--account", metavar="ACCOUNT", help="Only this account.")
@click.option("-f", "--folder", metavar="FOLDER", help="Only this folder (e.g. INBOX).")
@click.option("--unread", is_flag=True, help="Only unread messages.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="At most N envelopes.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip the newest N.")
@json_option
@click.pass_context
def list_(ctx: click.Context, account: str | None, folder: str | None, unread: bool,
          limit: int, offset: int, as_json: bool) -> None:
    """List envelopes, newest first.

    Columns: id, date, flags, from, folder, subject, size, attachment mark.

    Flags: N unread, ! flagged, r answered, D draft, P headers only. @ marks attachments.
    """
    envs = settings(ctx).service().list_envelopes(account=account, folder=folder, unread=unread,
                                                  limit=limit, offset=offset)
    _print_envelopes(envs, as_json, show_folder=folder is None, empty="no messages")


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option("-n", "--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="At most N results.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip the first N.")
@json_option
@click.pass_context
def search(ctx: click.Context, query: tuple[str, ...], limit: int, offset: int,
           as_json: bool) -> None:
    """Search the cache. QUERY words are joined with spaces.

    \b
    Fields: from: to: cc: subject: body: folder: account:
            is:unread is:read is:flagged is:answered has:attachment
            before:YYYY-MM-DD after:YYYY-MM-DD
    Bare words match anywhere (as prefixes); "quoted phrases" match exactly.
    Terms are ANDed; OR between terms, -term or NOT to exclude, ( ) to group.
    Example: mailcli search from:alice subject:report -is:read after:2024-01-01
    """
    envs = settings(ctx).service().search(" ".join(query), limit=limit, offset=offset)
    _print_envelopes(envs, as_json, show_folder=True, empty="no matches")


def _print_envelopes(envs: list, as_json: bool, show_folder: bool, empty: str) -> None:
    if as_json:
        emit_json([e.to_json() for e in envs])
        return
    if not envs:
        note(empty)
        return
    from mailcli.cli.envelopes import envelope_lines

    for line in envelope_lines(envs, show_folder=show_folder):
        click.echo(line)
