"""Flushing: send what waits in the Outbox and finish interrupted Sent copies.

The second half of sending (mailcli.service.sending queues a message, then hands it
here): each account's Outbox is flushed under its send lock
(``<data>/outbox/locks/<account>.lock``), so that a state found "sending" by the next
run can only belong to a dead process; queued Sent-copy/draft uploads are replayed under
the account's sync lock. Used by `send`, by every `fetch` before its sync, and by the
watcher every poll_interval; see mailcli.send.outbox for the exactly-once argument.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from mailcli import killpoint
from mailcli.accounts.registry import traits_for
from mailcli.errors import ConfigError, LockHeld, MailcliError
from mailcli.sync.lock import account_lock

if TYPE_CHECKING:
    from mailcli.accounts.base import Account
    from mailcli.config.schema import AccountConfig
    from mailcli.send.outbox import OutboxItem, SendResult, ServerCopy
    from mailcli.service.core import ServiceCore

logger = logging.getLogger(__name__)

SEND_LOCK_WAIT = 30.0  # seconds a send() waits for another process's flush of the account


class _LazyAccount:
    """One IMAP connection for a whole flush, opened on first use."""

    def __init__(self, opener: Any) -> None:
        self._opener = opener
        self._account: Account | None = None

    def get(self) -> Account:
        if self._account is None:
            acct = self._opener()
            acct.connect()
            self._account = acct
        return self._account

    def close(self) -> None:
        if self._account is not None:
            self._account.close()
            self._account = None


class _KillBeforeCopy:
    """Test hook: SIGKILL when the Sent-copy step starts ("sent" recorded, no copy yet),
    or right after its APPEND ("appended": on the server, not recorded)."""

    def __init__(self, inner: Any, kill: Any) -> None:
        self._inner, self._kill = inner, kill
        self.remote = inner.remote
        self._started: set[str] = set()

    def _start(self, item: OutboxItem) -> None:
        if item.message_id not in self._started:   # once per message ("sent:N": the N-th)
            self._started.add(item.message_id)
            self._kill("sent")

    def server_copy(self, item: OutboxItem, detect: bool) -> ServerCopy | None:
        self._start(item)
        return self._inner.server_copy(item, detect)  # type: ignore[no-any-return]

    def fetch_copy(self, folder: str, uid: int) -> bytes | None:
        return self._inner.fetch_copy(folder, uid)  # type: ignore[no-any-return]

    def append(self, item: OutboxItem, raw: bytes) -> tuple[str, int | None]:
        self._start(item)
        done = self._inner.append(item, raw)
        self._kill("appended")      # the copy is on the server, not yet recorded here
        return done  # type: ignore[no-any-return]

    def keep_local(self, *args: Any, **kw: Any) -> tuple[str, int]:
        if not self.remote:
            self._kill("sent")
        return self._inner.keep_local(*args, **kw)  # type: ignore[no-any-return]


class Flushing:
    """flush_outbox, outbox, and the send lock and SMTP view that send() shares."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def flush_outbox(self, account: str | AccountConfig | None = None, *,
                     retry_failed: bool = False, resend_uncertain: bool = False,
                     uploads: bool = True) -> list[SendResult]:
        """Send what waits in the Outbox of one account (or all) and finish interrupted
        Sent copies. Cheap when there is nothing to do (no connection, no password).

        `retry_failed`: also retry messages that failed permanently before (`mailcli
        send` does; `fetch` does not, so a refused message is not retried every few
        minutes). `resend_uncertain`: send again messages interrupted mid-SMTP.
        `uploads`: also replay queued Sent-copy/draft uploads when the account's sync
        lock is free. Never raises for a single message; an account whose outbox lock is
        busy is skipped (its flush is running elsewhere).
        """
        from mailcli.send import outbox_state, records

        if account is None:
            names = list(self.core.config.accounts)
        else:
            names = [account if isinstance(account, str) else account.name]
        store = self.core.store
        # rows lost with the index? An intact index has outbox rows for every record (done
        # ones too), so only an empty table is worth a look at the records (a no-change
        # fetch lists no directory)
        if outbox_state.is_empty(store) and records.any_records(store):
            from mailcli.send.restore import restore

            restore(store)
        results: list[SendResult] = []
        for name in names:
            cfg = self.core.account_config(name)
            if outbox_state.has_work(store, name):   # (mailcli.send.outbox loaded only now)
                from mailcli.send import outbox as outbox_mod

                outbox = outbox_mod.Outbox(store)
                if cfg.smtp is None:
                    for item in outbox.items(name):
                        results.append(outbox_mod.SendResult(
                            name, item.message_id, "failed",
                            error=f"account {name!r} has no SMTP server configured",
                            exit_code=2, outbox_id=item.message))
                    continue
                try:
                    with self.send_lock(name, wait=0):
                        results += self.flush_items(cfg, outbox.items(name),
                                                     retry_failed=retry_failed,
                                                     resend_uncertain=resend_uncertain)
                except LockHeld:
                    logger.info("outbox of %s is being flushed by another process", name)
            if uploads and traits_for(cfg).can_append:
                results += self._replay_uploads(cfg)
        return results

    def outbox(self, account: str | None = None) -> list[OutboxItem]:
        """What waits in the Outbox (queued, failed, uncertain, or sent but not finished)."""
        from mailcli.send import outbox as outbox_mod

        if account is not None:
            self.core.account_config(account)
        return outbox_mod.Outbox(self.core.store).items(account)

    # ------------------------------------------------------------------ shared with send()
    def smtp_config(self, name: str, mail_from: str = "") -> AccountConfig:
        """The account as a message from `mail_from` sees it (that identity's SMTP server
        and Sent folder); ConfigError when there is no SMTP server."""
        from mailcli.send import identity

        cfg = identity.sending_config(self.core.account_config(name), mail_from)
        if cfg.smtp is None:
            raise ConfigError(f"account {name!r} has no SMTP server configured",
                              hint=f"add an [accounts.{name}.smtp] section with host, port and security")
        return cfg

    @contextmanager
    def send_lock(self, name: str, wait: float) -> Iterator[None]:
        deadline = time.monotonic() + wait
        with ExitStack() as stack:
            while True:
                try:
                    stack.enter_context(account_lock(self.core.data_dir / "outbox", name))
                    break
                except LockHeld:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.2)
            yield

    def flush_items(self, cfg: AccountConfig, items: list[OutboxItem], fresh: bool = False,
                     retry_failed: bool = False, resend_uncertain: bool = False) -> list[SendResult]:
        from mailcli.send import identity
        from mailcli.send import outbox as outbox_mod
        from mailcli.send.sent import SentCopies
        from mailcli.send.smtp import send_message

        outbox = outbox_mod.Outbox(self.core.store)
        imap = _LazyAccount(lambda: self.core.open_account(cfg))

        kill = killpoint.hook()  # tests only: MAILCLI_TEST_KILL_AT="smtp:1" or "sent:1"

        def transport_for(icfg: AccountConfig) -> Any:
            smtp = icfg.smtp
            assert smtp is not None

            def transport(raw: bytes, mail_from: str, rcpts: list[str]) -> dict[str, tuple[int, str]]:
                refused = send_message(smtp, self.core.smtp_credentials(icfg), raw, mail_from,
                                       rcpts, account=icfg.name)
                if kill is not None:
                    kill("smtp")  # accepted by the server, not yet recorded as sent
                return refused
            return transport

        # one SMTP server and Sent folder per identity (most accounts: just the account's)
        parts: dict[tuple[object, object], tuple[Any, Any]] = {}

        def parts_for(item: OutboxItem) -> tuple[Any, Any]:
            icfg = identity.sending_config(cfg, item.mail_from)
            if icfg.smtp is None:
                icfg = cfg
            key = (id(icfg.smtp), icfg.sent_folder)
            if key not in parts:
                copier = SentCopies(self.core.store, icfg,
                                    imap.get if traits_for(icfg).can_append else None)
                if kill is not None:
                    copier = _KillBeforeCopy(copier, kill)  # type: ignore[assignment]
                parts[key] = (transport_for(icfg), copier)
            return parts[key]

        results = []
        try:
            for item in items:
                current = outbox.get(item.row)  # re-read under the lock
                transport, copier = parts_for(current)
                results.append(outbox_mod.flush_item(outbox, current, transport, copier,
                                                     retry_failed=retry_failed,
                                                     resend_uncertain=resend_uncertain,
                                                     fresh=fresh))
        finally:
            imap.close()
        return results

    def _replay_uploads(self, cfg: AccountConfig) -> list[SendResult]:
        pending = self.core.store.journal.pending(cfg.name)
        if not pending:   # the usual case: nothing queued at all (send.sent not loaded)
            return []
        from mailcli.send import outbox as outbox_mod
        from mailcli.send.sent import is_ours, replay_uploads

        if not any(is_ours(a) for a in pending):
            return []
        imap = _LazyAccount(lambda: self.core.open_account(cfg))
        out = []
        try:
            with account_lock(self.core.data_dir, cfg.name):
                for action, err in replay_uploads(self.core.store, cfg.name, imap.get):
                    what = "copy" if action.payload.get("sent_copy") else "draft"
                    res = outbox_mod.SendResult(
                        cfg.name, str(action.payload.get("message_id") or ""),
                        f"{what}_uploaded" if err is None else f"{what}_queued",
                        sent_copy="appended" if err is None else "queued",
                        sent_folder=action.payload.get("folder"),
                        sent_id=action.payload.get("id"))
                    if err is not None:
                        res.error = f"{what} upload to {action.payload.get('folder')} still failing: {err.message}"
                        # still owed: not success (75 when only the connection is missing)
                        res.exit_code = 75 if int(err.exit_code) == 75 else 1
                    out.append(res)
        except LockHeld:
            logger.info("%s is being synced; its queued uploads are left to that sync", cfg.name)
        except MailcliError as exc:  # pragma: no cover - replay_uploads handles per action
            logger.warning("replaying uploads of %s failed: %s", cfg.name, exc)
        finally:
            imap.close()
        return out
