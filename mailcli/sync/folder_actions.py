"""Queued folder management (`mailcli folder create/rename/delete`) on an IMAP server (a
mixin of sync/engine.ImapSync).

Journal payloads: ``create_folder {name}``, ``rename_folder {old, new}``,
``delete_folder {name, force}``. Order within a run:

- creates and renames go first, before the LIST (a created folder is then synced like any
  other; after a rename the old name's cache is dropped at once, since the server now
  lists the new name, which is downloaded as a new folder);
- deletes go last, after every queued message action was replayed (a move out of the
  folder must reach the server before the folder goes); the folder is not synced in
  between. Without ``force`` a folder that holds messages on the server is not deleted
  (someone delivered mail there since): the action fails, is reported and stays queued.

Every action is idempotent: a create of a folder that exists, a rename already done and a
delete of a folder that is gone are done.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from mailcli.accounts.base import Account
from mailcli.errors import MailcliError, TemporaryError
from mailcli.store import Action as JournalAction
from mailcli.store import ActionKind, Store
from mailcli.sync.outcome import Tally


class FolderActions:
    """Mixin: needs the engine's store, account, name, outcome, and the LocalChanges
    helpers (_folder_error, _note, _folder_removed)."""

    store: Store
    account: Account
    name: str

    if TYPE_CHECKING:   # provided by LocalChanges (the engine mixes both in)
        def _note(self, folder: str | None, text: str, warn: bool = False) -> None: ...

    def _queued_kinds(self, *kinds: ActionKind) -> list[JournalAction]:
        return [a for a in self.store.journal.pending(self.name) if a.kind in kinds]

    def pending_folder_deletes(self) -> set[str]:
        """Folders with a queued delete: not synced (nor downloaded again) meanwhile."""
        return {str(a.payload.get("name")) for a in self._queued_kinds(ActionKind.DELETE_FOLDER)}

    def folder_actions_first(self) -> None:
        """Queued creates and renames, before the LIST."""
        actions = self._queued_kinds(ActionKind.CREATE_FOLDER, ActionKind.RENAME_FOLDER)
        if not actions:
            return
        names = {f.name for f in self.account.list_folders()}
        for a in actions:
            self._folder_action(a, names)

    def folder_actions_last(self) -> None:
        """Queued deletes, after every message action was replayed."""
        actions = self._queued_kinds(ActionKind.DELETE_FOLDER)
        if not actions:
            return
        names = {f.name for f in self.account.list_folders()}
        for a in actions:
            self._folder_action(a, names)

    def _folder_action(self, a: JournalAction, names: set[str]) -> None:
        p = a.payload
        try:
            if a.kind is ActionKind.CREATE_FOLDER:
                if p["name"] not in names:
                    self.account.create_folder(p["name"])
                    names.add(p["name"])
                    self._note(p["name"], f"created the folder {p['name']} on the server")
            elif a.kind is ActionKind.RENAME_FOLDER:
                old, new = p["old"], p["new"]
                if old in names and new not in names:
                    self.account.rename_folder(old, new)
                    names.discard(old)
                    names.add(new)
                    self._note(old, f"renamed the folder {old} to {new} on the server")
                elif old in names:
                    raise MailcliError(f"cannot rename {old} to {new}: {new} exists on the server")
                if self.store.folder_state(self.name, old) is not None:
                    tally = Tally()
                    self._folder_removed(old, tally)   # type: ignore[attr-defined]
            elif a.kind is ActionKind.DELETE_FOLDER:
                name = p["name"]
                if name in names:
                    held = self.account.folder_status(name).messages
                    if held and not p.get("force"):
                        raise MailcliError(f"not deleted on the server: {name} holds {held} "
                                           f"message(s) there now",
                                           hint=f"mailcli folder delete --force {name}")
                    self.account.delete_folder(name)
                    names.discard(name)
                    self._note(name, f"deleted the folder {name} on the server")
            self.store.journal.mark_done(a.id)
        except TemporaryError:
            raise
        except MailcliError as exc:
            self.store.journal.mark_failed(a.id, exc.message)
            self._folder_error(str(p.get("name") or p.get("old")),   # type: ignore[attr-defined]
                               f"queued {a.kind.value.replace('_', ' ')} failed: {exc.message}")
