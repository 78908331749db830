"""`mailcli flag`, `mailcli move`, `mailcli delete`: local changes, queued for the server
and pushed at the next fetch (or at once with --now). Thin shells over the service."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailcli.cli.output import emit_json, json_option, settings

if TYPE_CHECKING:
    from mailcli.model import Envelope

now_option = click.option("--now", is_flag=True,
                          help="Push the change to the server at once (else at the next fetch).")


def _report(envs: list[Envelope], as_json: bool, verb: str) -> None:
    if as_json:
        emit_json([e.to_json() for e in envs])
        return
    from mailcli.cli.envelopes import envelope_lines

    click.echo(f"{verb} {len(envs)} message{'s' if len(envs) != 1 else ''}")
    for line in envelope_lines(envs):
        click.echo(line)


@click.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.option("--seen", is_flag=True, help="Mark read.")
@click.option("--unseen", is_flag=True, help="Mark unread.")
@click.option("--flagged", is_flag=True, help="Set the flag (star).")
@click.option("--unflagged", is_flag=True, help="Clear the flag.")
@click.option("--answered", is_flag=True, help="Mark answered.")
@click.option("--unanswered", is_flag=True, help="Mark not answered.")
@now_option
@json_option
@click.pass_context
def flag(ctx: click.Context, refs: tuple[str, ...], seen: bool, unseen: bool, flagged: bool,
         unflagged: bool, answered: bool, unanswered: bool, now: bool, as_json: bool) -> None:
    """Change message flags (queued for the server).

    The change is made locally and pushed to the server at the next fetch (or at
    once with --now).
    """
    from mailcli.model import Flag

    add, remove = set(), set()
    for on, off, which in ((seen, unseen, Flag.SEEN), (flagged, unflagged, Flag.FLAGGED),
                           (answered, unanswered, Flag.ANSWERED)):
        if on:
            add.add(which)
        if off:
            remove.add(which)  # both given: the service refuses the contradiction (exit 2)
    envs = settings(ctx).service().flag(list(refs), add=frozenset(add), remove=frozenset(remove),
                                        now=now)
    _report(envs, as_json, "flagged")


@click.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.argument("folder")
@now_option
@json_option
@click.pass_context
def move(ctx: click.Context, refs: tuple[str, ...], folder: str, now: bool,
         as_json: bool) -> None:
    """Move messages to another folder (queued for the server).

    FOLDER is a folder of each message's own account; ids stay the same.
    """
    envs = settings(ctx).service().move(list(refs), folder, now=now)
    _report(envs, as_json, "moved")


@click.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@now_option
@json_option
@click.pass_context
def delete(ctx: click.Context, refs: tuple[str, ...], now: bool, as_json: bool) -> None:
    """Delete messages (queued for the server).

    The cached copy goes at once; the server copy at the next fetch (or with --now).

    POP3: the server copy is deleted only with delete_when_deleted_locally = true.
    """
    envs = settings(ctx).service().delete(list(refs), now=now)
    _report(envs, as_json, "deleted")
