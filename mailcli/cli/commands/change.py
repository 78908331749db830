"""`mailcli flag`, `mailcli move`, `mailcli delete`: local changes, queued for the server
and pushed at the next fetch (or at once with --now). Thin shells over the service."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mailcli.cli import complete
from mailcli.cli.output import emit_json, json_option, settings

if TYPE_CHECKING:
    from mailcli.model import Envelope

now_option = click.option("--now", is_flag=True,
                          help="Push the change to the server at once (else at the next fetch).")
query_option = click.option("-q", "--query", metavar="QUERY",
                            help="Act on every cached message this search finds "
                                 "(the `mailcli search` language).")
REFS_HELP = "REF is an id from `mailcli list`, a range of ids (12-40) or ACCOUNT:FOLDER:UID."


def _targets(ctx: click.Context, refs: tuple[str, ...], query: str | None) -> list[str] | None:
    """The references to act on: REF... and/or every match of --query. None: the query
    matched nothing (said on stderr; not an error, so a cron clean-up exits 0)."""
    if not refs and query is None:
        raise click.UsageError("missing argument: give REF... or --query QUERY", ctx=ctx)
    out = list(refs)
    if query is not None:
        found = settings(ctx).service().search(query, limit=0)
        if not found and not refs:
            from mailcli.cli.output import note

            note("no message matches the query; nothing changed")
            return None
        out += [str(e.id) for e in found]
    return out


def _report(envs: list[Envelope], as_json: bool, verb: str, tail: str = "") -> None:
    if as_json:
        emit_json([e.to_json() for e in envs])
        return
    from mailcli.cli.envelopes import envelope_lines

    click.echo(f"{verb} {len(envs)} message{'s' if len(envs) != 1 else ''}{tail}")
    for line in envelope_lines(envs):
        click.echo(line)


@click.command(epilog=REFS_HELP)
@click.argument("refs", nargs=-1, metavar="REF...")
@query_option
@click.option("--seen", is_flag=True, help="Mark read.")
@click.option("--unseen", is_flag=True, help="Mark unread.")
@click.option("--flagged", is_flag=True, help="Set the flag (star).")
@click.option("--unflagged", is_flag=True, help="Clear the flag.")
@click.option("--answered", is_flag=True, help="Mark answered.")
@click.option("--unanswered", is_flag=True, help="Mark not answered.")
@now_option
@json_option
@click.pass_context
def flag(ctx: click.Context, refs: tuple[str, ...], query: str | None, seen: bool, unseen: bool, flagged: bool,
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
    targets = _targets(ctx, refs, query)
    if targets is None:
        return emit_json([]) if as_json else None
    envs = settings(ctx).service().flag(targets, add=frozenset(add), remove=frozenset(remove),
                                        now=now)
    _report(envs, as_json, "marked", _flag_words(add, remove))


def _flag_words(add: set[Any], remove: set[Any]) -> str:
    """" read, flagged": what was done (`flag --seen` used to say "flagged")."""
    from mailcli.model import Flag

    words = {Flag.SEEN: ("read", "unread"), Flag.FLAGGED: ("flagged", "unflagged"),
             Flag.ANSWERED: ("answered", "not answered")}
    said = [words[f][0] for f in sorted(add, key=lambda f: f.value) if f in words]
    said += [words[f][1] for f in sorted(remove, key=lambda f: f.value) if f in words]
    return " " + ", ".join(said) if said else ""


@click.command(epilog=REFS_HELP)
@click.argument("refs", nargs=-1, metavar="REF...")
@click.argument("folder", shell_complete=complete.folders)
@query_option
@now_option
@json_option
@click.pass_context
def move(ctx: click.Context, refs: tuple[str, ...], folder: str, query: str | None, now: bool,
         as_json: bool) -> None:
    """Move messages to another folder (queued for the server).

    FOLDER (the last argument) is a folder of each message's own account; ids stay
    the same. With --query, FOLDER may be the only argument.
    """
    targets = _targets(ctx, refs, query)
    if targets is None:
        return emit_json([]) if as_json else None
    envs = settings(ctx).service().move(targets, folder, now=now)
    _report(envs, as_json, "moved")


@click.command(epilog=REFS_HELP)
@click.argument("refs", nargs=-1, metavar="REF...")
@query_option
@click.option("--expunge", is_flag=True,
              help="Delete for good instead of moving to the Trash.")
@now_option
@json_option
@click.pass_context
def delete(ctx: click.Context, refs: tuple[str, ...], query: str | None, expunge: bool,
           now: bool, as_json: bool) -> None:
    """Delete messages: move them to the Trash (queued for the server).

    IMAP: the messages go to the account's Trash (the server's \\Trash folder, else
    trash_folder, else a usual name such as Trash or Deleted Items; created when there
    is none). Messages already in the Trash, and every message with --expunge, are
    deleted for good: the cached copy at once, the server copy at the next fetch (or
    with --now).

    POP3: removed locally; the server copy is deleted only with
    delete_when_deleted_locally = true.
    """
    targets = _targets(ctx, refs, query)
    if targets is None:
        return emit_json([]) if as_json else None
    before = settings(ctx).service().resolve_many(targets)
    envs = settings(ctx).service().delete(targets, now=now, expunge=expunge)
    if as_json:
        return _report(envs, as_json, "deleted")
    trashed = [e for e, b in zip(envs, before) if e.folder != b.folder]
    gone = [e for e, b in zip(envs, before) if e.folder == b.folder]
    if trashed:
        _report(trashed, False, "moved", " to " + ", ".join(sorted({e.folder for e in trashed})))
    if gone or not trashed:
        _report(gone, False, "deleted")
