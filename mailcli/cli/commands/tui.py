"""`mailcli tui`: start the Textual interface (imported only when this command runs)."""
from __future__ import annotations

import click

from mailcli.cli.output import settings


@click.command()
@click.pass_context
def tui(ctx: click.Context) -> None:
    """Browse, read, search, act on, write and sync mail in a full-screen interface.

    Keys are mutt-like (j/k, Enter, r/R/f, d, m, s, /, c, g to sync, q; ? lists them
    all) and can be rebound in the config file under [tui.keys]. In the composer,
    To/Cc/Bcc complete from the address book (Tab takes the address), Ctrl+F cycles the
    From through the account's identities, Ctrl+S sends. Logs go to the log file in the
    data directory, never to the screen.
    """
    from mailcli.cli.logging import setup_logging

    opts = settings(ctx)
    service = opts.service()
    service.keep_pinentry_off_the_terminal()   # the screen belongs to the TUI
    # the screen belongs to the TUI: log to the file only
    setup_logging(service.data_dir, opts.verbose, opts.debug, stderr=False)
    from mailcli.tui import run

    run(service)   # (the service is closed with the command's context: Settings.service)
