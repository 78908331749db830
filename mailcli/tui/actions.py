"""What the keys do: actions on the current message, composing, and background sync.

The base class of the App. Every change goes through the service (flag / move / delete /
save_attachments / *_draft / send / fetch), in thread workers, so the TUI queues exactly
what the CLI would and never blocks on disk or network. Errors become notifications.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.notifications import SeverityLevel

from mailcli.errors import ExitCode, LockHeld, MailcliError, SendError
from mailcli.message.sanitize import safe_line, safe_text
from mailcli.model import Envelope, Flag, Flags
from mailcli.tui.messages import MailChanged

if TYPE_CHECKING:
    from mailcli.service import Draft, FetchResult, Service, SyncEvent
    from mailcli.tui.screens.compose import Composed
    from mailcli.tui.screens.main import MainScreen

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 0.1  # seconds between progress updates from the sync thread


class SyncReporter:
    """A sync Reporter (the service's events) that hands events to the UI thread."""

    def __init__(self, app: MailActions) -> None:
        self.app = app
        self._last = 0.0
        self.fetched = 0

    def event(self, ev: SyncEvent) -> None:
        from mailcli.service import MessageFetched

        if isinstance(ev, MessageFetched):
            self.fetched += 1
            now = time.monotonic()
            if now - self._last < PROGRESS_EVERY:
                return
            self._last = now
        try:
            self.app.call_from_thread(self.app.on_sync_event, ev, self.fetched)
        except Exception:  # the app is closing: a Reporter must not raise
            logger.debug("sync event dropped", exc_info=True)


class MailActions(App[None]):
    """Message actions, compose and sync; MailApp (app.py) adds layout, keys and start-up."""

    service: Service
    main: MainScreen
    clock: Callable[[], datetime]
    save_dir: Path
    sync_running: bool = False
    _folder_base = 0   # messages fetched before the folder being synced (progress line)
    _folder_total = 0  # messages that folder will download

    # ------------------------------------------------------------------ helpers
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is plain text, never Textual markup: they quote attachment
        names, folder names and server replies, and `[@click=app.screenshot(...)]` in one
        would be a live action (`[a='x]` or `[/]` a crash). `markup` is accepted for
        Textual's signature and ignored. Control characters are neutralized too."""
        super().notify(safe_text(str(message)), title=safe_line(str(title)),
                       severity=severity, timeout=timeout, markup=False)

    @property
    def current_envelope(self) -> Envelope | None:
        return getattr(self.screen, "current_envelope", None)

    def _need_message(self) -> Envelope | None:
        env = self.current_envelope
        if env is None:
            self.notify("No message selected", severity="warning")
        return env

    def show_error(self, exc: BaseException) -> None:
        """A notification for an error (title + message + hint), never a traceback."""
        if isinstance(exc, MailcliError):
            text = exc.message + (f"\n{exc.hint}" if exc.hint else "")
            self.notify(text, title=exc.title, severity="error", timeout=8)
        else:
            logger.error("unexpected error in the TUI", exc_info=exc)
            self.notify(f"{type(exc).__name__}: {exc}\n(details in the log file)",
                        title="Unexpected error", severity="error", timeout=8)

    def _changed(self, envelope: Envelope | None = None, gone: bool = False) -> None:
        """After an action: update the open view, reload the list and the counts."""
        screen = self.screen
        if gone and screen is not self.main and hasattr(screen, "message_list"):
            screen.dismiss()
        elif envelope is not None and hasattr(screen, "update_envelope"):
            screen.update_envelope(envelope)
        self.main.post_message(MailChanged())

    # ------------------------------------------------------------------ flags
    def action_toggle_read(self) -> None:
        env = self._need_message()
        if env is not None:
            seen = Flag.SEEN in env.flags
            self._flag(env, frozenset() if seen else {Flag.SEEN}, {Flag.SEEN} if seen else frozenset(),
                       "Marked unread" if seen else "Marked read")

    def action_toggle_flag(self) -> None:
        env = self._need_message()
        if env is not None:
            on = Flag.FLAGGED in env.flags
            self._flag(env, frozenset() if on else {Flag.FLAGGED},
                       {Flag.FLAGGED} if on else frozenset(), "Unflagged" if on else "Flagged")

    @work(thread=True, exit_on_error=False, group="actions")
    def _flag(self, env: Envelope, add: Flags, remove: Flags, done: str) -> None:
        try:
            self.service.flag([str(env.id)], add=frozenset(add), remove=frozenset(remove))
            fresh = self.service.resolve(str(env.id))
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._after, done, fresh, False)

    def _after(self, text: str, envelope: Envelope | None, gone: bool) -> None:
        self.notify(text, timeout=3)
        self._changed(envelope, gone)

    # ------------------------------------------------------------------ delete / move
    def action_delete(self) -> None:
        env = self._need_message()
        if env is not None:
            self._delete(env)

    @work(thread=True, exit_on_error=False, group="actions")
    def _delete(self, env: Envelope) -> None:
        try:
            self.service.delete([str(env.id)])
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._after, "Deleted (the server follows at the next sync)",
                              None, True)

    def action_move(self) -> None:
        from mailcli.tui.screens.pickers import FolderPicker

        env = self._need_message()
        if env is None:
            return
        folders = [s.folder for s in self.main.folder_tree.summaries
                   if s.account == env.account and s.folder != env.folder]
        if not folders:
            self.notify("No other folder to move to", severity="warning")
            return

        def chosen(folder: str | None) -> None:
            if folder:
                self._move(env, folder)

        self.push_screen(FolderPicker(f"Move to which folder of {env.account}?", folders),
                         chosen)

    @work(thread=True, exit_on_error=False, group="actions")
    def _move(self, env: Envelope, folder: str) -> None:
        try:
            self.service.move([str(env.id)], folder)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._after, f"Moved to {folder}", None, True)

    # ------------------------------------------------------------------ attachments
    def action_save_attachments(self) -> None:
        from mailcli.tui.screens.pickers import SavePrompt

        env = self._need_message()
        if env is None:
            return
        if not env.has_attachments:
            self.notify("This message has no attachments", severity="warning")
            return

        def chosen(answer: tuple[Path, bool] | None) -> None:
            if answer:
                self._save(env, *answer)

        self.push_screen(SavePrompt("Save the attachments to directory:", self.save_dir), chosen)

    @work(thread=True, exit_on_error=False, group="actions")
    def _save(self, env: Envelope, dest: Path, force: bool) -> None:
        try:
            saved = self.service.save_attachments(str(env.id), dest, force=force)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        names = ", ".join(Path(p).name for p in saved)
        self.call_from_thread(self.notify, f"Saved {len(saved)} file(s) to {dest}: {names}",
                              timeout=5)

    # ------------------------------------------------------------------ compose
    def action_compose(self) -> None:
        account = self._compose_account()
        if account is not None:
            self._draft("new", account, None, "New message")

    def action_reply(self) -> None:
        env = self._need_message()
        if env is not None:
            self._draft("reply", env.account, env, "Reply")

    def action_reply_all(self) -> None:
        env = self._need_message()
        if env is not None:
            self._draft("reply_all", env.account, env, "Reply to all")

    def action_forward(self) -> None:
        env = self._need_message()
        if env is not None:
            self._draft("forward", env.account, env, "Forward")

    def _compose_account(self) -> str | None:
        env = self.current_envelope
        if env is not None:
            return env.account
        account = self.main.view.account
        if account:
            return account
        names = self.service.account_names()
        if not names:
            self.notify("No account configured", severity="error")
            return None
        return names[0]

    @work(thread=True, exit_on_error=False, group="draft")
    def _draft(self, kind: str, account: str, env: Envelope | None, title: str) -> None:
        service = self.service
        try:
            if env is None:  # kind "new"
                draft = service.new_draft(account)
            elif kind == "forward":
                draft = service.forward_draft(str(env.id))
            else:
                draft = service.reply_draft(str(env.id), all=kind == "reply_all")
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._edit, draft, account, title)

    def _edit(self, draft: Draft, account: str, title: str) -> None:
        from mailcli.tui.screens.compose import ComposeScreen

        def done(result: Composed) -> None:
            if result is None:
                self.notify("Nothing written: draft dropped", timeout=3)
            elif result[0] == "send":
                self._send(account, result[1])
            else:
                self._keep(account, result[1])

        self.push_screen(ComposeScreen(draft, account, title), done)

    @work(thread=True, exit_on_error=False, group="send")
    def _keep(self, account: str, draft: Draft) -> None:
        try:
            kept = self.service.save_draft(account, draft)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._after, f"Kept in Drafts (message {kept})", None, False)

    @work(thread=True, exit_on_error=False, group="send")
    def _send(self, account: str, draft: Draft) -> None:
        try:
            result = self.service.send(account, draft)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        status = result.status
        if status == "sent":
            refused = result.refused
            text = "Sent to " + ", ".join(result.recipients or draft.to)
            if refused:
                text += f" (refused: {', '.join(refused)})"
            self.call_from_thread(self._after, text, None, False)
        elif status == "queued":
            self.call_from_thread(self._after, "Offline: queued in the outbox; it goes out at "
                                  "the next sync", None, False)
        else:
            error = result.error or status
            self.call_from_thread(self.show_error, SendError(f"not sent: {error}", result.hint))

    # ------------------------------------------------------------------ sync
    def action_sync(self) -> None:
        if self.sync_running:
            self.notify("A sync is already running", timeout=3)
            return
        self.sync_running = True
        self.main.status.set_progress("syncing…")
        self._sync(None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync")
    def _sync(self, accounts: list[str] | None) -> None:
        reporter = SyncReporter(self)
        try:
            result = self.service.fetch(accounts, reporter=reporter)
        except Exception as exc:  # noqa: BLE001 - shown as a notification, logged
            self.call_from_thread(self.sync_finished, None, exc)
            return
        self.call_from_thread(self.sync_finished, result, None)

    def on_sync_event(self, ev: SyncEvent, fetched: int) -> None:
        from mailcli.service import AccountStarted, FolderDone, FolderStarted, MessageFetched, SyncWarning

        status = self.main.status
        match ev:
            case AccountStarted(account=account):
                status.set_progress(f"syncing {account}…")
            case FolderStarted(account=account, folder=folder, to_download=to_download):
                self._folder_total = to_download
                self._folder_base = fetched
                status.set_progress(f"syncing {account}/{folder}"
                                    + (f" 0/{to_download}" if to_download else ""))
            case MessageFetched(account=account, folder=folder):
                done = fetched - self._folder_base
                status.set_progress(f"syncing {account}/{folder} {done}/{self._folder_total}")
            case FolderDone(account=account, folder=folder, counts=counts, blocked=blocked):
                if counts.new or counts.deleted or counts.updated:
                    self.main.post_message(MailChanged())
                if blocked:
                    self.notify(f"{account}/{folder}: {blocked}", title="Sync stopped",
                                severity="warning", timeout=8)
            case SyncWarning(message=message, folder=str()):
                # account-level failures (no folder) are summed up once in sync_finished
                self.notify(message, title="Sync", severity="warning", timeout=6)

    def sync_finished(self, result: FetchResult | None, error: BaseException | None) -> None:
        self.sync_running = False
        now: datetime = self.clock()
        offline: list[str] = []
        problems: list[str] = []
        if error is not None:
            if isinstance(error, LockHeld):
                self.notify("Busy: another fetch is running; try again in a moment",
                            title="Sync", severity="warning")
                problems.append("busy")
            else:
                self.show_error(error)
                problems.append(error.title if isinstance(error, MailcliError) else "error")
        reports = result.accounts if result is not None else []
        errors = result.errors if result is not None else {}
        for report in reports:
            if report.ok:
                continue
            if isinstance(errors.get(report.account), LockHeld):  # the account was busy
                self.notify(f"{report.account}: busy, another fetch is running",
                            title="Sync", severity="warning")
                problems.append(f"{report.account} busy")
            elif report.exit_code == ExitCode.TEMPORARY:
                offline.append(f"{report.account}: {report.error}")
            else:
                problems.append(f"{report.account} failed")
                self.notify(f"{report.account}: {report.error}", title="Sync failed",
                            severity="error", timeout=8)
        if offline:
            self.notify("\n".join(offline) + "\nreading and changes work offline; they are "
                        "pushed at the next sync", title="Offline", severity="warning")
            offline = [line.partition(":")[0] for line in offline]
        if result is not None and not problems and not offline:
            new = sum(r.new for r in result.accounts)
            self.notify(f"Synced: {new} new" if new else "Synced: no new mail", timeout=3)
        self.main.status.sync_done(now, offline, ", ".join(problems))
        self.main.post_message(MailChanged())
