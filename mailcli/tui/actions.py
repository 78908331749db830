"""What the keys do: actions on the current message and composing (background sync:
tui/syncing.py, its base class).

The base class of the App. Every change goes through the service (flag / move / delete /
save_attachments / *_draft / send / fetch), in thread workers, so the TUI queues exactly
what the CLI would and never blocks on disk or network. Errors become notifications.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from mailcli.errors import MailcliError, SendError
from mailcli.message.sanitize import safe_line
from mailcli.model import Envelope, Flag, Flags
from mailcli.tui.messages import MailChanged
from mailcli.tui.syncing import SyncActions

if TYPE_CHECKING:
    from mailcli.service import Draft
    from mailcli.tui.screens.compose import Composed

logger = logging.getLogger(__name__)

UNDO_DEPTH = 50        # changes `u` can take back, newest first
MARK_ALL_LIMIT = 100_000


@dataclass(frozen=True)
class Undo:
    """One change `u` can take back: "flags" (restore each message's flags as they were)
    or "move" (a move or delete not yet on the server; see Service.undo_move)."""

    kind: str
    before: tuple[Envelope, ...]
    label: str


class MailActions(SyncActions):
    """Message actions and compose (sync: SyncActions, tui/syncing.py); MailApp (app.py)
    adds layout, keys and start-up."""

    save_dir: Path
    kept_unread: set[int]
    mark_read_after: float | None
    undo_stack: list[Undo]

    # ------------------------------------------------------------------ helpers
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

    # ------------------------------------------------------------------ targets, undo
    def _targets(self) -> list[Envelope] | None:
        """What d/m/F/N act on: the selected messages of the list (Space/t), else the
        current message (None and a warning when there is neither)."""
        if self.screen is self.main and self.main.message_list.selected:
            return list(self.main.message_list.selected.values())
        env = self._need_message()
        return [env] if env is not None else None

    def _done_with_selection(self) -> None:
        self.main.message_list.clear_selection()

    def _remember(self, kind: str, before: list[Envelope], label: str) -> None:
        self.undo_stack.append(Undo(kind, tuple(before), label))
        del self.undo_stack[:-UNDO_DEPTH]

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("Nothing to undo", timeout=3)
            return
        self._undo(self.undo_stack.pop())

    @work(thread=True, exit_on_error=False, group="actions")
    def _undo(self, undo: Undo) -> None:
        try:
            if undo.kind == "flags":
                for env in undo.before:
                    now = self.service.resolve(str(env.id)).flags
                    if now != env.flags:
                        self.service.flag([str(env.id)], add=env.flags - now,
                                          remove=now - env.flags)
            else:  # "move": a move or a delete (to Trash) not yet on the server
                self.service.undo_move({e.id: e.folder for e in undo.before})
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._undone, undo)

    def _undone(self, undo: Undo) -> None:
        if undo.kind == "flags":
            for env in undo.before:
                (self.kept_unread.discard if Flag.SEEN in env.flags
                 else self.kept_unread.add)(env.id)
        self._after(f"Undone: {undo.label}", None, False)

    # ------------------------------------------------------------------ flags
    def action_toggle_read(self) -> None:
        envs = self._targets()
        if envs:
            seen = all(Flag.SEEN in e.flags for e in envs)
            for e in envs:
                (self.kept_unread.add if seen else self.kept_unread.discard)(e.id)
            self._flag(envs, frozenset() if seen else {Flag.SEEN},
                       {Flag.SEEN} if seen else frozenset(),
                       "Marked unread" if seen else "Marked read")

    def action_toggle_flag(self) -> None:
        envs = self._targets()
        if envs:
            on = all(Flag.FLAGGED in e.flags for e in envs)
            self._flag(envs, frozenset() if on else {Flag.FLAGGED},
                       {Flag.FLAGGED} if on else frozenset(), "Unflagged" if on else "Flagged")

    def action_mark_all_read(self) -> None:
        """Mark read the selection, else every message of the list (folder or search)."""
        if self.main.message_list.selected:
            self._flag(list(self.main.message_list.selected.values()), {Flag.SEEN},
                       frozenset(), "Marked read")
        else:
            self._mark_all_read()

    @work(thread=True, exit_on_error=False, group="actions")
    def _mark_all_read(self) -> None:
        view = self.main.view
        try:
            if view.query is not None:
                envs = self.service.search(f"({view.query}) is:unread", limit=MARK_ALL_LIMIT)
            else:
                envs = self.service.list_envelopes(view.account, view.folder, unread=True,
                                                   limit=MARK_ALL_LIMIT)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        if not envs:
            self.call_from_thread(self.notify, "No unread messages here", timeout=3)
            return
        self.call_from_thread(self._flag, envs, {Flag.SEEN}, frozenset(),
                              f"Marked {len(envs)} read")

    @work(thread=True, exit_on_error=False, group="actions")
    def _flag(self, envs: list[Envelope], add: Flags, remove: Flags, done: str) -> None:
        try:
            self.service.flag([str(e.id) for e in envs], add=frozenset(add),
                              remove=frozenset(remove))
            fresh = self.service.resolve(str(envs[0].id)) if len(envs) == 1 else None
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._remember, "flags", envs, done.lower())
        self.call_from_thread(self._done_with_selection)
        self.call_from_thread(self._after, done, fresh, False)

    def _after(self, text: str, envelope: Envelope | None, gone: bool) -> None:
        self.notify(text, timeout=3)
        self._changed(envelope, gone)

    # ------------------------------------------------------------------ delete / move
    def action_delete(self) -> None:
        envs = self._targets()
        if envs:
            self._delete(envs)

    @work(thread=True, exit_on_error=False, group="actions")
    def _delete(self, envs: list[Envelope]) -> None:
        try:
            self.service.delete([str(e.id) for e in envs])
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        what = "Deleted" if len(envs) == 1 else f"Deleted {len(envs)} messages"
        self.call_from_thread(self._remember, "move", envs, what.lower())
        self.call_from_thread(self._done_with_selection)
        self.call_from_thread(self._after, f"{what} (u undoes until the next sync)", None, True)

    def action_move(self) -> None:
        from mailcli.tui.screens.pickers import FolderPicker

        envs = self._targets()
        if not envs:
            return
        accounts = {e.account for e in envs}
        if len(accounts) > 1:
            self.notify("The selection spans accounts: move each account's messages apart",
                        severity="warning")
            return
        account = envs[0].account
        sources = {e.folder for e in envs}
        folders = [s.folder for s in self.main.folder_tree.summaries
                   if s.account == account and {s.folder} != sources]
        if not folders:
            self.notify("No other folder to move to", severity="warning")
            return

        def chosen(folder: str | None) -> None:
            if folder:
                self._move(envs, folder)

        what = "this message" if len(envs) == 1 else f"{len(envs)} messages"
        self.push_screen(FolderPicker(f"Move {what} to which folder of {account}?", folders),
                         chosen)

    @work(thread=True, exit_on_error=False, group="actions")
    def _move(self, envs: list[Envelope], folder: str) -> None:
        try:
            self.service.move([str(e.id) for e in envs], folder)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        moved = [e for e in envs if e.folder != folder]
        self.call_from_thread(self._remember, "move", moved, f"move to {folder}")
        self.call_from_thread(self._done_with_selection)
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

    # ------------------------------------------------------------------ open with the desktop
    def action_open_part(self) -> None:
        """`o`: the HTML part, else the attachment (a choice when there are several),
        opened by the desktop's program (mailcli fetches nothing itself)."""
        env = self._need_message()
        if env is not None:
            self._open_part_choices(env)

    @work(thread=True, exit_on_error=False, group="open")
    def _open_part_choices(self, env: Envelope) -> None:
        try:
            html = self.service.show(env.id, mark_seen=False).html is not None
            infos = self.service.attachments(env.id)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        choices = (["HTML part"] if html else []) + [
            f"{a.index or n}: {safe_line(a.filename)} ({a.content_type})"
            for n, a in enumerate(infos, 1)]
        if not choices:
            self.call_from_thread(self.notify, "Nothing to open: no HTML part, no attachment",
                                  severity="warning")
        elif len(choices) == 1:
            self._open_part(env, None if html else 1)
        else:
            self.call_from_thread(self._pick_part, env, choices)

    def _pick_part(self, env: Envelope, choices: list[str]) -> None:
        from mailcli.tui.screens.pickers import FolderPicker

        def chosen(choice: str | None) -> None:
            if choice:
                self._open_part(env, None if choice == "HTML part"
                                else int(choice.partition(":")[0]))

        self.push_screen(FolderPicker("Open which part with the desktop's program?", choices),
                         chosen)

    @work(thread=True, exit_on_error=False, group="open")
    def _open_part(self, env: Envelope, part: int | None) -> None:
        try:
            path = self.service.open_part(str(env.id), part).path
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self.notify, f"Opened {path.name} with the desktop's program",
                              timeout=3)

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

    def action_resume_draft(self) -> None:
        """Go on writing a draft kept in Drafts (the current message, a \\Draft)."""
        env = self._need_message()
        if env is None:
            return
        if Flag.DRAFT not in env.flags:
            self.notify("Not a draft: open the Drafts folder and press D on one",
                        severity="warning")
            return
        self._resume(env)

    @work(thread=True, exit_on_error=False, group="draft")
    def _resume(self, env: Envelope) -> None:
        try:
            draft = self.service.resume_draft(str(env.id))
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._edit, draft, env.account, "Draft", env.id)

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

    def _edit(self, draft: Draft, account: str, title: str, replaces: int | None = None) -> None:
        """Edit `draft`; `replaces`: the id of the stored draft it was resumed from (removed
        once the new version is kept or sent)."""
        from mailcli.tui.screens.compose import ComposeScreen

        def done(result: Composed) -> None:
            if result is None:
                self.notify("Nothing written: draft unchanged" if replaces
                            else "Nothing written: draft dropped", timeout=3)
            elif result[0] == "send":
                self._send(account, result[1], replaces)
            else:
                self._keep(account, result[1], replaces)

        self.push_screen(ComposeScreen(draft, account, title), done)

    def _drop_replaced(self, replaces: int | None) -> None:
        """Nothing to do here: a draft from `Service.resume_draft` carries its origin, and
        `save_draft`/`send` remove the old version from Drafts (not to the Trash)."""
        return

    @work(thread=True, exit_on_error=False, group="send")
    def _keep(self, account: str, draft: Draft, replaces: int | None = None) -> None:
        try:
            kept = self.service.save_draft(account, draft)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self._drop_replaced(replaces)
        self.call_from_thread(self._after, f"Kept in Drafts (message {kept})", None, False)

    @work(thread=True, exit_on_error=False, group="send")
    def _send(self, account: str, draft: Draft, replaces: int | None = None) -> None:
        try:
            result = self.service.send(account, draft)
        except MailcliError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        if result.status in ("sent", "queued"):
            self._drop_replaced(replaces)
        status = result.status
        if status == "sent":
            refused = result.refused
            text = "Sent to " + ", ".join(result.recipients or draft.to)
            if refused:
                text += f" (refused: {', '.join(refused)})"
            if result.notice:
                text += "\n" + result.notice
            self.call_from_thread(self._after, text, None, False)
        elif status == "queued":
            self.call_from_thread(self._after, "Offline: queued in the outbox; it goes out at "
                                  "the next sync", None, False)
        else:
            error = result.error or status
            self.call_from_thread(self.show_error, SendError(f"not sent: {error}", result.hint))
