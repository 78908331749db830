"""`mailcli account authorize NAME [--device] [--no-browser]`."""
from __future__ import annotations

import click

from mailcli.cli.output import settings


@click.command("authorize")
@click.argument("name")
@click.option("--device", is_flag=True,
              help="Device flow: print an address and a code to enter in any browser, on any "
                   "device (for machines without a browser).")
@click.option("--no-browser", is_flag=True,
              help="Print the sign-in address instead of opening a browser.")
@click.pass_context
def authorize(ctx: click.Context, name: str, device: bool, no_browser: bool) -> None:
    """Sign in to an OAuth2 account and store its refresh token.

    Opens the provider's sign-in page (authorization code flow with PKCE; the answer
    comes back to a one-off listener on 127.0.0.1). Run it again whenever a command
    says the grant was refused.
    """
    import webbrowser

    from mailcli.message.sanitize import safe_line

    def say(text: str) -> None:
        click.echo(safe_line(text), err=True)

    where = settings(ctx).service().authorize(
        name, device=device, open_url=None if no_browser else webbrowser.open, say=say)
    click.echo(f"account {name!r}: signed in; the refresh token is stored in {safe_line(where)}")
