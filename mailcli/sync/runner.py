"""Fetch several accounts in one run: locks, connections, error isolation, the run's result.

Owns what happens around one engine run per account: take the account's lock
(sync/lock.py; a held lock is that account's failure with exit 75, reported at once),
tidy the cache (done journal rows; crashed tmp/ files twice a day), connect through
the given callable, run the IMAP or POP3 engine, turn its SyncOutcome or its exception
into a model.AccountReport, and send AccountStarted/AccountDone events.
One failing account never stops the others.

Exit code of a run (FetchResult.exit_code), from the accounts' reports:

- 0  every account finished without a failure.
- 75 every account failed, each for a temporary reason (server unreachable, connection
     lost, lock held): a retry later (cron) will do the job.
- 3 / 2  every account failed, all with authentication (3) or all with config (2) errors.
- 1  anything else: at least one account, folder or message failed for a non-temporary
     reason while something else was done, or failures of different kinds were mixed
     (e.g. one auth failure + one unreachable server -> 1). A guardrail stop is 1. So is
     one account unreachable while another was synced: SPEC's "done in part" (the report
     says which account failed and why).
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from mailcli.accounts.base import Account, Maildrop
from mailcli.accounts.registry import traits_for
from mailcli.config.schema import AccountConfig
from mailcli.errors import ExitCode, MailcliError
from mailcli.model import AccountReport
from mailcli.store import Store
from mailcli.sync.engine import ImapSync
from mailcli.sync.events import AccountDone, AccountStarted, NullReporter, Reporter, SyncWarning
from mailcli.sync.lock import account_lock, lock_path
from mailcli.sync.outcome import SyncOutcome

if TYPE_CHECKING:
    from mailcli.sync.pop3 import Pop3Sync

logger = logging.getLogger(__name__)

TMP_CLEAN_EVERY = 12 * 3600   # seconds between two tmp/ cleanings of one account

Connect = Callable[[AccountConfig], AbstractContextManager[Account]]
"""Given an account's config, a context manager yielding a connected Account."""
Lock = Callable[[Path, str], AbstractContextManager[object]]
"""Given the data dir and an account's name, a context manager holding its sync lock."""


@dataclass
class FetchResult:
    """The outcome of a `fetch` run over one or more accounts.

    Attributes:
        accounts: one report per account, in the order they ran.
        plans: --dry-run: printable plan lines (prefixed with the account name).
        errors: account name -> the exception that ended it (for callers that re-raise).
    """

    accounts: list[AccountReport] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)
    errors: dict[str, MailcliError] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.accounts)

    @property
    def exit_code(self) -> int:
        return combine_exit_codes([r.exit_code for r in self.accounts if not r.ok],
                                  len(self.accounts))

    def to_json(self) -> dict[str, object]:
        """SPEC.md fetch JSON: {"accounts": [...], "ok"}."""
        return {"accounts": [r.to_json() for r in self.accounts], "ok": self.ok}


def combine_exit_codes(failures: list[int], total: int) -> int:
    """The run's exit code from its failed accounts' codes (rules in the module doc)."""
    if not failures:
        return int(ExitCode.OK)
    kinds = set(failures)
    if kinds == {int(ExitCode.TEMPORARY)} and len(failures) == total:
        return int(ExitCode.TEMPORARY)
    if len(failures) == total and len(kinds) == 1 and kinds <= {int(ExitCode.AUTH), int(ExitCode.USAGE)}:
        return failures[0]
    return int(ExitCode.PARTIAL)


def fetch_accounts(configs: Iterable[AccountConfig], *, store: Store, data_dir: Path,
                   connect: Connect, reporter: Reporter | None = None, dry_run: bool = False,
                   force: bool = False,
                   before_sync: Callable[[AccountConfig], object] | None = None,
                   lock: Lock = account_lock) -> FetchResult:
    """Sync each account in turn, isolated from the others.

    Args:
        configs: the accounts to fetch.
        store: the local store.
        data_dir: where the account locks live.
        connect: opens a connected Account for a config (used as a context manager).
        reporter: receives every sync event.
        dry_run: plan only (no change anywhere); plans land in FetchResult.plans.
        force: bypass the deletion guardrail.
        before_sync: called with the config once the lock is held, before connecting
            (e.g. flush the outbox); its failure is a note, not the account's failure.
        lock: holds an account's lock for the block (account_lock; a caller that took
            one ahead hands it over here).

    Returns:
        FetchResult with one AccountReport per account.
    """
    rep = reporter or NullReporter()
    result = FetchResult()
    for cfg in configs:
        report, plans, error = _one(cfg, store, data_dir, connect, rep, dry_run, force, before_sync,
                                    lock)
        result.accounts.append(report)
        result.plans.extend(f"{cfg.name}: {line}" for line in plans)
        if error is not None:
            result.errors[cfg.name] = error
        rep.event(AccountDone(report))
    return result


def _one(cfg: AccountConfig, store: Store, data_dir: Path, connect: Connect, rep: Reporter,
         dry_run: bool, force: bool, before_sync: Callable[[AccountConfig], object] | None,
         lock: Lock) -> tuple[AccountReport, list[str], MailcliError | None]:
    outcome = SyncOutcome(cfg.name, cfg.protocol)
    error: MailcliError | None = None
    try:
        with lock(data_dir, cfg.name):
            rep.event(AccountStarted(cfg.name, cfg.protocol))
            if not dry_run:
                _tidy(store, data_dir, cfg.name)
            if before_sync is not None and not dry_run:
                try:
                    before_sync(cfg)
                except Exception as exc:  # noqa: BLE001 - the outbox must not block fetching
                    logger.warning("%s: sending queued mail failed: %s", cfg.name, exc)
                    outcome.notes.append(f"queued mail not sent: {exc}")
            with connect(cfg) as account:
                if traits_for(cfg).maildrop:   # the registry opens a Maildrop for these
                    from mailcli.sync.pop3 import Pop3Sync

                    engine: ImapSync | Pop3Sync = Pop3Sync(store, cast(Maildrop, account), cfg,
                                                           reporter=rep, dry_run=dry_run)
                else:
                    engine = ImapSync(store, account, cfg.name, folders=cfg.folders, reporter=rep,
                                      force=force, dry_run=dry_run)
                try:
                    engine.run()
                finally:
                    engine.outcome.notes[:0] = outcome.notes
                    outcome = engine.outcome
    except MailcliError as exc:
        error = exc
    except Exception as exc:  # noqa: BLE001 - one account's bug must not stop the others
        logger.exception("fetch of %s failed", cfg.name)
        error = MailcliError(f"internal error: {type(exc).__name__}: {exc}",
                             hint="run again with --debug for the traceback")
    report = _report(cfg, outcome, error)
    if error is not None:
        rep.event(SyncWarning(report.error or error.message, cfg.name))
    return report, outcome.plans, error


def _tidy(store: Store, data_dir: Path, account: str) -> None:
    """Purge done journal rows (one DELETE) and, at most every TMP_CLEAN_EVERY seconds per
    account (listing every tmp/ would end the O(1) no-change resync), remove crashed
    deliveries' tmp/ files. Never fails a fetch."""
    try:
        rows = store.journal.purge_done()
        stamp = lock_path(data_dir, account).with_suffix(".tidied")
        files = 0
        if not stamp.exists() or stamp.stat().st_mtime < time.time() - TMP_CLEAN_EVERY:
            files = store.clean_tmp(account)
            stamp.touch(mode=0o600)
            os.utime(stamp)
    except (MailcliError, OSError) as exc:
        logger.warning("%s: cleaning up the cache failed: %s", account, exc)
        return
    if rows or files:
        logger.info("%s: purged %d done journal row(s), removed %d crashed tmp/ file(s)",
                    account, rows, files)


def _report(cfg: AccountConfig, outcome: SyncOutcome, error: MailcliError | None) -> AccountReport:
    problems = list(outcome.errors) + list(outcome.blocked)
    if error is not None:
        message = error.message
        if problems and not any(message in p for p in problems):
            problems.append(message)
        text = message if not problems else "; ".join(dict.fromkeys(problems))
        code = int(error.exit_code)
    elif problems:
        text = "; ".join(problems)
        code = int(ExitCode.PARTIAL)
    else:
        text, code = None, int(ExitCode.OK)
    return AccountReport(account=cfg.name, protocol=cfg.protocol, ok=text is None,
                         new=outcome.new, updated=outcome.updated, deleted=outcome.deleted,
                         uploaded=outcome.uploaded, error=text, exit_code=code,
                         notes=list(outcome.notes))
