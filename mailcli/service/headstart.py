"""A fetch's first connection, opened on a thread while the fetch loads the rest.

Before `mailcli fetch` talks to a server it imports the store and the sync engine, opens
the index and tidies the cache: tens of milliseconds of CPU.
The connection's set-up is waiting: TCP, TLS, the greeting and the login are one round
trip each (more on a real link than all that CPU). A HeadStart runs Account.connect()
for the first account on a thread meanwhile (the account's module is imported before, in
the caller's thread: two threads importing at once only share one core's worth of the
GIL, and the connection would start no earlier); the runner's connect for that account then
takes the connected Account (`take`), or the error its connect raised, re-raised in the
caller's thread as if it had connected there (same exceptions, same exit codes).

Only where nothing can differ from connecting later: the password comes from a command,
an environment variable or OAuth2 (no prompt on a terminal from a background thread),
not with OAuth2 tokens in the keyring (some backends prompt), and only once the caller
holds the account's lock (taken before the thread starts and handed to the runner: no
login while another process syncs the account, not even one that began in the same
instant). A connection never taken is closed by
`discard`, which waits for a connect still under way up to the account's timeout (the
thread then logs out itself; it is a daemon, so a hung connect does not hold the exit).
The connection is idle while the fetch sends what waits in the outbox (SMTP) before the
sync. Servers keep an idle login for 30 minutes (RFC 9051 5.4), but a NAT or firewall
between may forget an idle flow much sooner, and the sync would then wait for its timeout
on a dead connection: a connection idle for more than MAX_IDLE seconds when the runner
asks for it is logged out and a fresh one opened (`stale`).
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailcli.accounts.base import Account
    from mailcli.config.credentials import Credentials
    from mailcli.config.schema import AccountConfig

logger = logging.getLogger(__name__)

MAX_IDLE = 60.0   # seconds a connection opened ahead may wait for the runner (see above)


def worth_it(cfg: AccountConfig, creds: Credentials) -> bool:
    """Whether `cfg`'s connection may be opened ahead: no prompt can be needed (the
    caller also takes the account's lock first)."""
    from mailcli.config.credentials import PasswordCredentials

    if isinstance(creds, PasswordCredentials):
        secret = cfg.secret
        if not (secret.command or secret.env):
            return False      # the keyring: it may prompt on a terminal
    elif cfg.oauth2 is not None and not cfg.oauth2.token_command \
            and cfg.oauth2.token_store == "keyring":
        return False          # some keyring backends prompt too
    return True


class HeadStart:
    """Account.connect() of one account on a thread, started at once."""

    def __init__(self, name: str, account: Account, timeout: float) -> None:
        self.name = name
        self._timeout = timeout
        self._unconnected: Account | None = account
        self._account: Account | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._abandoned = False
        self._taken = False
        self._ready_at: float | None = None   # time.monotonic() when the login was done
        self._thread = threading.Thread(target=self._run, name=f"mailcli-connect-{name}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        account, self._unconnected = self._unconnected, None
        assert account is not None
        try:
            account.connect()
        except BaseException as exc:  # noqa: BLE001 - handed to the taker as it is
            self._error = exc
            return
        with self._lock:
            if not self._abandoned:
                self._account = account
                self._ready_at = time.monotonic()
                return
        account.close()

    def take(self) -> AbstractContextManager[Account]:
        """The connected Account as a context manager (closed on exit), or the error its
        connect raised. Once."""
        if self._taken:
            raise RuntimeError("HeadStart.take() twice")
        self._taken = True
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        assert self._account is not None
        account, self._account = self._account, None
        return contextlib.closing(account)

    @property
    def available(self) -> bool:
        """Neither taken nor discarded yet."""
        return not self._taken and not self._abandoned

    def stale(self) -> bool:
        """Whether the connection is up and has been idle longer than MAX_IDLE (the
        caller then discards it and connects anew). A connect still under way, or one
        that failed, is not stale: `take` waits for it or re-raises its error."""
        with self._lock:
            ready_at = self._ready_at if self._account is not None else None
        return ready_at is not None and time.monotonic() - ready_at > MAX_IDLE

    def discard(self, wait: bool = True) -> None:
        """Close the connection if it was never taken. A connect still under way is waited
        for up to the account's timeout (its password command or OAuth2 token refresh is
        not cut off by the process's exit, and it logs out itself when done), unless not
        `wait` (Ctrl-C). Idempotent."""
        with self._lock:
            self._abandoned = True
            account, self._account = self._account, None
        if account is not None:
            logger.debug("%s: the connection opened ahead was not used; closed", self.name)
            account.close()
        elif wait and not self._taken:
            self._thread.join(self._timeout)
