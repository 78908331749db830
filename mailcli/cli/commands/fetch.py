"""`mailcli fetch [ACCOUNT...]`: sync accounts (IMAP two-way, POP3 download + deletion
policy) through service.fetch, with a live display on a TTY, one summary line per
account otherwise, nothing but failures under --quiet (for cron), and the SPEC fetch
JSON under --json. The exit code comes from the result (0, 1 partial, 3 auth, 75
temporary/locked)."""
from __future__ import annotations

import logging

import click

from mailcli.cli import complete
from mailcli.cli.output import emit_json, json_option, one_line, settings, style
from mailcli.errors import ExitCode, LockHeld
from mailcli.model import AccountReport

logger = logging.getLogger("mailcli.fetch")


@click.command()
@click.argument("accounts", nargs=-1, metavar="[ACCOUNT]...", shell_complete=complete.accounts)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something failed (for cron).")
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@click.option("--force", is_flag=True,
              help="Go ahead where a safety guardrail stopped a sync (a mass deletion; a folder "
                   "list without INBOX, or one that drops many folders or messages).")
@click.option("--full", "full", multiple=True, metavar="REF",
              help="Download the whole body of a message kept as headers only "
                   "(POP3 max_message_size); repeatable. Syncs nothing else.")
@json_option
@click.pass_context
def fetch(ctx: click.Context, accounts: tuple[str, ...], quiet: bool, dry_run: bool,
          force: bool, full: tuple[str, ...], as_json: bool) -> int:
    """Fetch mail: sync every (or each named) account.

    IMAP: two-way sync of the selected folders (new mail, flags and deletions both
    ways, queued local changes pushed). POP3: download new mail into INBOX, then apply
    the account's server-deletion policy. Another fetch holding an account's lock makes
    this one exit 75 (cron simply retries).
    """
    from mailcli.cli.logging import FILE_ONLY
    from mailcli.cli.progress import make_reporter

    svc = settings(ctx).service()
    if full:
        if accounts:
            raise click.UsageError("--full takes message references, not accounts")
        envs = [svc.fetch_full(ref) for ref in full]
        if as_json:
            emit_json([e.to_json() for e in envs])
        elif not quiet:
            for e in envs:
                click.echo(f"{e.id}: {e.size} bytes, complete")
        return 0
    names = list(accounts) or None
    total = len(svc.account_configs(names))  # unknown account: NotFoundError before any work
    reporter = make_reporter(quiet, as_json, total)
    try:
        result = svc.fetch(names, reporter, dry_run=dry_run, force=force, quiet=quiet)
    finally:
        reporter.close()
    if as_json:
        emit_json(result.to_json())
    else:
        if dry_run and not quiet:
            for line in result.plans:
                click.echo(str(line))
        for rep in result.accounts:
            if rep.ok and not quiet:
                click.echo(summary(rep))
    failed = [rep for rep in result.accounts if not rep.ok]
    for rep in failed:
        logger.warning("%s: %s", rep.account, _one_line(rep.error), extra=FILE_ONLY)
        if quiet and isinstance(result.errors.get(rep.account), LockHeld):
            continue  # cron: another fetch is at it; exit 75 says so, no mail every 5 min
        click.echo(f"mailcli: error: {rep.account}: {_one_line(rep.error)}", err=True)
        hint = getattr(result.errors.get(rep.account), "hint", None)
        if hint and not quiet:  # e.g. a refused OAuth2 grant: the command that signs in
            # again (--quiet keeps cron's mail to one line per account)
            click.echo(f"hint: {_one_line(hint)}", err=True)
    if failed and all(isinstance(result.errors.get(r.account), LockHeld) for r in failed):
        # Only lock collisions (the others were synced): a temporary state, whatever the
        # number of accounts; cron retries and the next run does the busy account.
        return int(ExitCode.TEMPORARY)
    return int(result.exit_code)


def summary(rep: AccountReport) -> str:
    """`work (imap): 3 new, 1 updated, 0 deleted, 0 uploaded`."""
    counts = (f"{rep.new} new, {rep.updated} updated, {rep.deleted} deleted, "
              f"{rep.uploaded} uploaded")
    name = style(rep.account, bold=True)
    text = f"{name} ({rep.protocol}): {counts}"
    for note in rep.notes:
        text += f"; {_one_line(note)}"
    return text


def _one_line(text: object) -> str:
    return one_line(text or "failed")
