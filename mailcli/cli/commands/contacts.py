"""`mailcli contacts [QUERY] [--json]`: the address book."""
from __future__ import annotations

import click

from mailcli.cli.output import emit_json, json_option, settings


@click.command()
@click.argument("query", required=False, default="")
@click.option("--limit", "limit", type=click.IntRange(min=0), default=0,
              help="Show at most N contacts (default: all).")
@json_option
@click.pass_context
def contacts(ctx: click.Context, query: str, limit: int, as_json: bool) -> None:
    """The address book: every address of the cached mail, ranked by how often and how
    recently you wrote to it (your Sent mail counts most), merged with
    address_book_command. QUERY matches names and addresses (prefix of any word first,
    then anywhere, then letters in order)."""
    from mailcli.message.sanitize import safe_line

    svc = settings(ctx).service()
    found = svc.contacts(query, limit)
    if as_json:
        emit_json([c.to_json() for c in found])
        return
    for c in found:
        when = c.last_seen.strftime("%Y-%m-%d") if c.last_seen else "-"
        click.echo(f"{safe_line(c.address)}\t{safe_line(c.name)}\t{c.count}\t{when}")
