"""`mailcli watch` and the TUI's watcher: the service's wiring of sync/watch.py.

Thin: builds the Watcher over the service's store, data dir and connections, fans its
events out to the caller, the new-mail hook and desktop notifications (service/hooks.py),
and returns the exit code. Timings come from WatchSettings; three environment variables
shorten them for tests and benchmarks (not user settings): MAILCLI_WATCH_KEEPALIVE
(seconds of IDLE between liveness checks), MAILCLI_WATCH_BACKOFF (the first reconnect
delay) and MAILCLI_WATCH_HOOK_TIMEOUT (the hook's time limit).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from mailcli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mailcli.service.core import ServiceCore
    from mailcli.sync.watch import WatchSettings
    from mailcli.sync.watch_events import Emit, WatchEvent

logger = logging.getLogger(__name__)


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        logger.warning("ignoring %s=%r (not a number of seconds)", name, text)
        return default
    return value if value > 0 else default


def settings_from_env(base: WatchSettings | None = None) -> WatchSettings:
    from mailcli.sync.watch import WatchSettings

    s = base or WatchSettings()
    return replace(s, keepalive=_env_seconds("MAILCLI_WATCH_KEEPALIVE", s.keepalive),
                   backoff_base=_env_seconds("MAILCLI_WATCH_BACKOFF", s.backoff_base))


class Watching:
    """watch(): run the watcher until `stop` is set (or every account failed)."""

    def __init__(self, core: ServiceCore,
                 flush_outbox: Callable[[str], object] | None = None) -> None:
        self.core = core
        self.flush_outbox = flush_outbox   # every poll_interval: mail composed offline goes out

    def watch(self, accounts: list[str] | None, emit: Emit, *, hook: str | None = None,
              notify: bool = False, stop: threading.Event | None = None,
              settings: WatchSettings | None = None, hooks: bool = True) -> int:
        """Watch the named accounts (default: all) until `stop` is set.

        Args:
            accounts: account names; None or empty = every configured account.
            emit: receives every WatchEvent, from the watcher's threads (must not raise).
            hook: the new-mail hook for every account (else on_new_mail from the config).
            notify: desktop notifications (notify-send) for new mail.
            stop: set it (e.g. from a signal handler) to stop; stops within 5 s.
            settings: timings (default: WatchSettings, shortened by the env, see above).
            hooks: run the new-mail hook (the TUI does not: `mailcli watch` does).

        Returns:
            0 when stopped; when every account failed for good (a refused login: 3; a
            config error: 2) the combined exit code.

        Raises:
            NotFoundError: an unknown account name (nothing is watched).
            UsageError: no account is configured.
        """
        from mailcli.service.hooks import HOOK_TIMEOUT, DesktopNotifier, HookRunner
        from mailcli.sync.watch import Watcher

        core = self.core
        configs = core.account_configs(accounts or None)
        if not configs:
            raise UsageError("no accounts to watch",
                             hint="add one with `mailcli account add`")
        core.store.db.require_writable()
        general = core.config.general.on_new_mail

        def command_for(account: str) -> str | None:
            return hook or core.config.account(account).on_new_mail or general

        consumers: list[Emit] = [emit]
        runner = HookRunner(command_for if hooks else (lambda _account: None), emit,
                            _env_seconds("MAILCLI_WATCH_HOOK_TIMEOUT", HOOK_TIMEOUT))
        consumers.append(runner)
        if notify:
            consumers.append(DesktopNotifier())

        def fan_out(ev: WatchEvent) -> None:
            for consumer in consumers:
                try:
                    consumer(ev)
                except Exception:  # noqa: BLE001 - a consumer must never stop the watcher
                    logger.exception("watch event consumer failed")

        watcher = Watcher(configs, store=core.store, data_dir=core.data_dir,
                          open_account=core.open_account, emit=fan_out,
                          settings=settings or settings_from_env(), stop=stop,
                          flush_outbox=self.flush_outbox)
        try:
            return watcher.run()
        finally:
            watcher.stop()
            runner.close()
