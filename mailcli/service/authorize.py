"""`mailcli account authorize NAME`: sign in to an OAuth2 account and store its grant.

The browser flow (authorization code + PKCE, loopback redirect) or the device flow; the
refresh token is written to the account's token store only once the provider has
issued it, so an interrupted or refused sign-in leaves the previous grant as it was.
"""
from __future__ import annotations

from collections.abc import Callable

from mailcli.config import Config
from mailcli.errors import AuthError, UsageError


def authorize(config: Config, name: str, *, device: bool,
              open_url: Callable[[str], bool] | None, say: Callable[[str], None]) -> str:
    """Run the sign-in for account `name`; returns where the grant was stored.

    Raises UsageError (not an OAuth2 account, or one with oauth2_token_command),
    AuthError (denied, wrong state, timed out: exit 3), TemporaryError (unreachable)."""
    from mailcli.config.credentials import credentials_for
    from mailcli.config.oauth2 import OAuth2Credentials
    from mailcli.oauth2 import flows

    acc = config.account(name)
    if acc.auth != "oauth2" or acc.oauth2 is None:
        raise UsageError(f"account {name!r} does not use OAuth2",
                         'set auth = "oauth2" and oauth2_provider in its section first')
    if acc.oauth2.token_command:
        raise UsageError(f"account {name!r} gets its tokens from oauth2_token_command",
                         "sign in with that tool, or remove oauth2_token_command")
    creds = credentials_for(acc, name)
    assert isinstance(creds, OAuth2Credentials)
    try:
        creds.store().load()     # an unusable keyring fails now, not after the sign-in
    except AuthError:
        pass                     # a damaged grant: about to be replaced
    endpoints = creds.endpoints()
    if device:
        token = flows.device_flow(endpoints, say)
    else:
        token = flows.authorize_code(endpoints, say, open_url)
    return creds.save(token)
