"""`mailcli folders`, `mailcli list` and `mailcli search`: reading the local cache
(no network). Thin shells over the service's folders/list_envelopes/search."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from mailcli.cli import complete
from mailcli.cli.output import emit_json, json_option, note, settings

if TYPE_CHECKING:
    from mailcli.model import Envelope


@click.command()
@click.argument("account", required=False, shell_complete=complete.accounts)
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
@click.option("-a", "--account", metavar="ACCOUNT", help="Only this account.",
              shell_complete=complete.accounts)
@click.option("-f", "--folder", metavar="FOLDER", help="Only this folder (e.g. INBOX).",
              shell_complete=complete.folders)
@click.option("--unread", is_flag=True, help="Only unread messages.")
@click.option("-n", "--limit", type=click.IntRange(min=0), default=50, show_default=True,
              help="At most N envelopes (0: all).")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip the newest N.")
@json_option
@click.pass_context
def list_(ctx: click.Context, account: str | None, folder: str | None, unread: bool,
          limit: int, offset: int, as_json: bool) -> None:
    """List envelopes, newest first.

    Columns: id, date, flags, from, folder, subject, size, attachment mark.

    Flags: N unread, ! flagged, r answered, D draft, P headers only. @ marks attachments.
    """
    svc = settings(ctx).service()
    envs = svc.list_envelopes(account=account, folder=folder, unread=unread,
                              limit=limit, offset=offset)
    _print_envelopes(envs, as_json, show_folder=folder is None, empty="no messages")
    _say_more(envs, as_json, limit, offset,
              lambda: svc.count(account=account, folder=folder, unread=unread))


class _QueryCommand(click.Command):
    """A command whose free-form QUERY may hold `-term` exclusions: any argument that is
    not one of the command's own options is a query word, wherever it stands, so that
    `mailcli search budget -draft --json` excludes "draft" instead of failing with
    "No such option '-d'" (click would parse `-draft` as the short options -d -r -a ...)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        opts: list[str] = []
        words: list[str] = []
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        rest = iter(args)
        for arg in rest:
            name = arg.split("=", 1)[0] if arg.startswith("--") else arg[:2]
            if arg == "--":
                words.extend(rest)
            elif arg.startswith("--") or (len(arg) == 2 and arg in takes_value):
                opts.append(arg)  # --opt, --opt=V, -o: click parses (and rejects) as usual
                if takes_value.get(name) and "=" not in arg:
                    value = next(rest, None)
                    if value is None and not ctx.resilient_parsing:
                        raise click.BadOptionUsage(arg, f"Option '{arg}' requires an argument.",
                                                   ctx=ctx)
                    if value is not None:
                        opts.append(value)
            elif not arg.startswith("-") or arg == "-" or name not in takes_value:
                words.append(arg)
            elif takes_value[name] and arg[2:].isdigit():
                opts.append(arg)  # -n5
            else:
                words.append(arg)  # -newsletter: an exclusion, not -n "ewsletter"
        return super().parse_args(ctx, [*opts, "--", *words])


@click.command(cls=_QueryCommand)
@click.argument("query", nargs=-1, required=True)
@click.option("-n", "--limit", type=click.IntRange(min=0), default=50, show_default=True,
              help="At most N results (0: all).")
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
    svc = settings(ctx).service()
    envs = svc.search(" ".join(query), limit=limit, offset=offset)
    _print_envelopes(envs, as_json, show_folder=True, empty="no matches")
    _say_more(envs, as_json, limit, offset, lambda: svc.search_count(" ".join(query)))


def _say_more(envs: list[Envelope], as_json: bool, limit: int, offset: int,
              total: Callable[[], int]) -> None:
    """"50 of 4,561 shown" on stderr when a person reads a cut list (stdout stays data)."""
    if as_json or not limit or len(envs) < limit or not sys.stderr.isatty():
        return
    n = total()
    if n > offset + len(envs):
        first = f"{offset + 1}-{offset + len(envs)}" if offset else f"{len(envs)}"
        note(f"{first} of {n:,} shown; --limit 0 shows all, --offset {offset + len(envs)} "
             f"the next page")


def _print_envelopes(envs: list[Envelope], as_json: bool, show_folder: bool, empty: str) -> None:
    if as_json:
        emit_json([e.to_json() for e in envs])
        return
    if not envs:
        note(empty)
        return
    from mailcli.cli.envelopes import envelope_lines

    for line in envelope_lines(envs, show_folder=show_folder):
        click.echo(line)
