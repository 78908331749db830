"""`mailcli open REF [PART]`: hand the HTML part (default, or PART "html") or attachment
number PART (as `mailcli attachments` numbers them) to the desktop's program
($MAILCLI_OPENER, else xdg-open). The part goes into a private 0700 directory under the
data dir, as a 0600 file; mailcli itself never fetches remote content."""
from __future__ import annotations

import click

from mailcli.cli.output import emit_json, json_option, settings


@click.command("open")
@click.argument("ref")
@click.argument("part", required=False)
@json_option
@click.pass_context
def open_(ctx: click.Context, ref: str, part: str | None, as_json: bool) -> None:
    """Open the HTML part or attachment PART of message REF with the desktop's program."""
    from mailcli.message.sanitize import safe_line

    opened = settings(ctx).service().open_part(ref, part)
    if as_json:
        emit_json(opened.to_json())
    else:
        click.echo(f"opened {safe_line(str(opened.path))} with {safe_line(opened.command[0])}")
