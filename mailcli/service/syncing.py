"""Talking to servers: fetch (sync), fetch_full, push_now, quota, account test.

Thin: the work is in mailcli.sync (runner, engines) and mailcli.accounts; this part
wires them to the service's config, store, passwords and connections.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailcli.accounts.base import Account, Maildrop
from mailcli.accounts.registry import traits_for
from mailcli.errors import LockHeld, MailcliError, UsageError
from mailcli.model import Envelope, Quota
from mailcli.sync.lock import account_lock

if TYPE_CHECKING:
    from mailcli.config.schema import AccountConfig
    from mailcli.service.core import ServiceCore
    from mailcli.service.headstart import HeadStart
    from mailcli.service.reading import Reading
    from mailcli.sync.events import Reporter
    from mailcli.sync.runner import FetchResult

logger = logging.getLogger(__name__)


class Syncing:
    """fetch / fetch_full / push_now / quota / account_test.

    `flush_outbox(account)` runs before each account's sync (mail waiting to be sent goes
    out first). A watcher (IDLE, a future issue) will add its per-folder entry here, next
    to `fetch`: ``sync_folder(account, folder, reporter)`` over the same runner and lock.
    """

    def __init__(self, core: ServiceCore, reading: Callable[[], Reading],
                 flush_outbox: Callable[[str], object]) -> None:
        self.core = core
        self._reading = reading   # built on first use (fetch never reads)
        self.flush_outbox = flush_outbox

    @property
    def reading(self) -> Reading:
        return self._reading()

    def fetch(self, accounts: list[str] | None = None, reporter: Reporter | None = None, *,
              dry_run: bool = False, force: bool = False, quiet: bool = False) -> FetchResult:
        """Sync the named accounts (default: all), each under its lock, isolated.

        Args:
            accounts: account names; None or empty = every configured account.
            reporter: receives the sync events (progress bar, TUI messages).
            dry_run: plan only: nothing changes locally or on a server; see result.plans.
            force: bypass the deletion guardrail (never the empty-store rule).
            quiet: accepted for symmetry with the CLI; the reporter decides what to show.

        Returns:
            FetchResult (.accounts reports, .ok, .exit_code, .plans, .to_json()).

        Raises:
            NotFoundError: an unknown account name (nothing is fetched).
        """
        core = self.core
        configs = core.account_configs(accounts or None)
        held = ExitStack()   # the first account's lock, taken ahead for the head start
        head = self._head_start(configs[0], held) if configs else None
        handed = False
        try:
            # (while the head start connects)
            from mailcli.sync.runner import fetch_accounts

            if not dry_run:
                core.store.db.require_writable()  # exit 2, not 75

            def before(cfg: AccountConfig) -> None:
                self.flush_outbox(cfg.name)

            def connect(cfg: AccountConfig) -> AbstractContextManager[Account]:
                if head is not None and cfg.name == head.name and head.available:
                    if not head.stale():
                        return head.take()
                    logger.debug("%s: the connection opened ahead was idle too long "
                                 "(the outbox was being sent); connecting anew", cfg.name)
                    head.discard()
                return core.open_account(cfg)

            def lock(data_dir: Path, name: str) -> AbstractContextManager[object]:
                nonlocal handed
                if head is not None and name == head.name and not handed:
                    handed = True
                    return held.pop_all()   # released when the runner is done with it
                return account_lock(data_dir, name)

            return fetch_accounts(configs, store=core.store, data_dir=core.data_dir,
                                  connect=connect, reporter=reporter, dry_run=dry_run,
                                  force=force, before_sync=before, lock=lock)
        except (KeyboardInterrupt, SystemExit):
            if head is not None:
                head.discard(wait=False)   # Ctrl-C ends the run now, not after a connect
            raise
        finally:
            if head is not None:
                head.discard()
            held.close()

    def _head_start(self, cfg: AccountConfig, held: ExitStack) -> HeadStart | None:
        """The first account's connection, opened on a thread while the fetch loads the
        rest (service/headstart.py), where that changes nothing but the time: the
        account's lock is taken first (into `held`), so that no login happens while
        another process syncs the account (the runner then reports the lock as before)."""
        from mailcli.service.headstart import HeadStart, worth_it

        core = self.core
        if not worth_it(cfg, core.credentials(cfg)):
            return None
        try:
            held.enter_context(account_lock(core.data_dir, cfg.name))
        except (LockHeld, OSError):   # the runner meets (and reports) the same
            return None
        # open_account imports the account's module here, not on the thread
        return HeadStart(cfg.name, core.open_account(cfg), cfg.timeout)

    def fetch_full(self, ref: str | int) -> Envelope:
        """Download the body of a headers-only POP3 message (max_message_size).

        Returns the updated envelope; a message that is already complete is returned as is.

        Raises:
            NotFoundError: no such message, or it is no longer on the server.
            UsageError: the message is not from a POP3 account.
        """
        from mailcli.sync.lock import account_lock
        from mailcli.sync.pop3 import fetch_full

        core = self.core
        env = self.reading.resolve(str(ref))
        if not env.partial:
            return env
        cfg = core.account_config(env.account)
        if not traits_for(cfg).maildrop:
            raise UsageError(f"message {env.id} is not a POP3 message")
        with account_lock(core.data_dir, cfg.name):
            with core.open_account(cfg) as account:
                if not isinstance(account, Maildrop):   # the traits say POP3: never here
                    raise UsageError(f"message {env.id} is not a POP3 message")
                fetch_full(core.store, account, env.id)
        return core.store.get(env.id)

    def busy_accounts(self, names: list[str] | None = None) -> list[str]:
        """The accounts another process is syncing right now (their lock is held). A
        shared, non-blocking probe released at once: it never waits, never writes."""
        import fcntl
        import os

        from mailcli.sync.lock import lock_path

        busy = []
        for cfg in self.core.account_configs(names):
            try:
                fd = os.open(lock_path(self.core.data_dir, cfg.name), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:  # never locked: no lock file yet
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                busy.append(cfg.name)
            finally:
                os.close(fd)
        return busy

    def push_now(self, account: str) -> None:
        """Push one account's queued local changes now (a sync of that account).

        Raises:
            MailcliError: the error that stopped the sync (its exit code), if any.
        """
        result = self.fetch([account])
        if result.ok:
            return
        err = result.errors.get(account)
        if err is not None:
            raise err
        report = result.accounts[0]
        raise MailcliError(f"{account}: {report.error}",
                           hint="the change stays queued; `mailcli fetch` retries it")

    def quota(self, accounts: list[str] | None = None,
              errors: dict[str, MailcliError] | None = None) -> list[Quota]:
        """Storage use per account (IMAP QUOTA; POP3: messages and bytes on the server);
        None fields where the server does not say. With `errors`, an account that fails
        is recorded there (name -> error) and the others are still asked; without, the
        first failure raises."""
        from mailcli.accounts.base import Capability

        out = []
        for cfg in self.core.account_configs(accounts or None):
            try:
                with self.core.open_account(cfg) as acc:
                    if acc.supports(Capability.QUOTA):
                        out.append(acc.quota())
                    else:
                        out.append(Quota(cfg.name, None, None))
            except MailcliError as exc:
                if errors is None:
                    raise
                errors[cfg.name] = exc
        return out

    def account_test(self, name: str) -> dict[str, Any]:
        """Connect and log in; report protocol, server, capabilities, quota, folder count."""
        from mailcli.accounts.base import Capability

        cfg = self.core.account_config(name)
        with self.core.open_account(cfg) as acc:
            quota = None
            if acc.supports(Capability.QUOTA):
                try:
                    q = acc.quota()
                    quota = {"used_bytes": q.used_bytes, "limit_bytes": q.limit_bytes,
                             "messages": q.messages, "percent": q.percent}
                except MailcliError as exc:
                    logger.info("%s: quota unavailable: %s", name, exc)
            folders = len(acc.list_folders())
            return {"account": name, "protocol": cfg.protocol,
                    "server": f"{cfg.host}:{cfg.port}", "security": cfg.security,
                    "capabilities": list(acc.server_capabilities),
                    "quota": quota, "folders": folders}
