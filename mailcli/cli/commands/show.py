"""`mailcli show REF` (read a message; marks it seen) and `mailcli attachments REF`
(list or save). Message text arrives terminal-safe from the service; file names and
anything else from the message go through safe_line here."""
from __future__ import annotations

import sys

import click

from mailcli.cli.output import emit_json, json_option, note, page, settings, style
from mailcli.errors import UsageError


@click.command()
@click.argument("ref", metavar="REF")
@click.option("--raw", is_flag=True, help="Write the stored message bytes unchanged to stdout.")
@click.option("--html", is_flag=True, help="Show the HTML part (rendered to text) even if there is a text part.")
@click.option("--headers", "all_headers", is_flag=True, help="Show every header field.")
@click.option("--no-mark", is_flag=True, help="Do not mark the message seen.")
@click.option("--force", is_flag=True, help="With --raw: write the raw bytes even to a terminal.")
@click.option("--no-pager", is_flag=True,
              help="Print straight to the terminal (else $PAGER, default 'less -FRX', on a terminal).")
@json_option
@click.pass_context
def show(ctx: click.Context, ref: str, raw: bool, html: bool, all_headers: bool,
         no_mark: bool, force: bool, no_pager: bool, as_json: bool) -> None:
    """Read a message (marks it seen).

    Shows the text part, else the HTML rendered to text, and lists the attachments.

    REF is the id shown by 'mailcli list', or ACCOUNT:FOLDER:UID. Reading marks the
    message seen; the change reaches the server at the next fetch.
    """
    svc = settings(ctx).service()
    if raw:
        if as_json or html or all_headers:
            raise UsageError("--raw cannot be combined with --json, --html or --headers")
        if sys.stdout.isatty() and not force:
            # the raw bytes are the sender's: escape sequences would reach the terminal
            raise UsageError("--raw writes the message's bytes unchanged, escape sequences "
                             "included: not to a terminal",
                             hint=f"pipe it (mailcli show --raw {ref} | less) or add --force")
        data = svc.raw(ref)
        if not no_mark and not svc.store.db.read_only:
            svc.mark_seen(ref)
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    msg = svc.show(ref, mark_seen=not no_mark, prefer_html=html, all_headers=all_headers)
    if as_json:
        emit_json(msg.to_json())
        return
    from mailcli.cli.envelopes import human_size
    from mailcli.message.sanitize import safe_line

    # PGP/MIME first (SPEC.md): "Signature: good (signer, key id)" and/or "Decrypted"
    out = [style(line, bold=True) for line in msg.pgp_lines()]
    out += [f"{style(name + ':', bold=True)} {value}" for name, value in msg.headers]
    out.append(style(f"[{msg.envelope.id} {safe_line(msg.envelope.account)}/"
                     f"{safe_line(msg.envelope.folder)}]", dim=True))
    out += ["", msg.text.rstrip("\n")]
    if msg.attachments:
        out += ["", style("Attachments:", bold=True)]
        out += [f"  [{a.index}] {safe_line(a.filename)} ({safe_line(a.content_type)}, "
                f"{human_size(a.size)})" for a in msg.attachments]
    if msg.partial:
        note("note: only the headers of this message are cached (it is over max_message_size)")
    page("\n".join(out) + "\n", enabled=not no_pager)


@click.command()
@click.argument("ref", metavar="REF")
@click.option("--save", "dest", metavar="DIR", type=click.Path(file_okay=False),
              help="Save the attachments into DIR (created if missing).")
@click.option("-n", "--number", "numbers", type=click.IntRange(min=1), multiple=True,
              help="Only attachment N (repeatable; numbers as listed).")
@click.option("--force", is_flag=True, help="Overwrite existing files in DIR.")
@json_option
@click.pass_context
def attachments(ctx: click.Context, ref: str, dest: str | None, numbers: tuple[int, ...],
                force: bool, as_json: bool) -> None:
    """List or save a message's attachments.

    File names are sanitized and never written outside DIR; an existing file is never
    overwritten without --force.
    """
    from mailcli.message.sanitize import safe_line

    svc = settings(ctx).service()
    if dest is None:
        if force or numbers:
            raise UsageError("--force and --number need --save DIR")
        infos = svc.attachments(ref)
        if as_json:
            emit_json([{"index": a.index, "filename": a.filename, "content_type": a.content_type,
                        "size": a.size} for a in infos])
            return
        if not infos:
            note("no attachments")
            return
        from mailcli.cli.envelopes import human_size
        from mailcli.cli.output import width
        from mailcli.cli.table import Column, render

        rows = [[str(a.index), safe_line(a.filename), safe_line(a.content_type),
                 human_size(a.size)] for a in infos]
        cols = [Column("#", right=True, max=4), Column("NAME", flex=True, min=12),
                Column("TYPE", max=40, min=10), Column("SIZE", right=True, max=7)]
        for line in render(cols, rows, width(), header=True):
            click.echo(line)
        return
    written = svc.save_attachments(ref, dest, force=force, which=list(numbers) or None)
    if as_json:
        emit_json({"saved": [str(p) for p in written]})
        return
    if not written:
        note("no attachments")
    for path in written:
        click.echo(safe_line(str(path)))
