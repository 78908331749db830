"""Folder management: `mailcli folder create/rename/delete`, queued like the message
changes (journal ``create_folder``/``rename_folder``/``delete_folder``; sync/folder_actions.py
pushes them at the next fetch, or at once with `now=True`).

- create: the folder appears locally at once (a folder state, so `move` accepts it).
- rename: queued as is; after the server's RENAME the old name's cache goes and the new
  name is downloaded as a new folder. Refused while the folder has queued changes or mail
  that never reached the server (push them first with `mailcli fetch`).
- delete: refused for a folder holding cached mail unless `force`, and always for one
  holding mail that never reached the server (local-only mail is never deleted); the
  cached copy goes at once, the server folder at the next fetch.

POP3 accounts have local folders only: create is a local folder, rename and delete act on
the cache alone (never on the server, which has no folders), with the same refusals.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mailcli.accounts.registry import traits_for
from mailcli.errors import NotFoundError, UsageError
from mailcli.store import CreateFolder, DeleteFolder, DeleteUid, FolderState, RenameFolder

if TYPE_CHECKING:
    from mailcli.service.core import ServiceCore


class Folders:
    def __init__(self, core: ServiceCore, push_now: Callable[[str], None]) -> None:
        self.core = core
        self.push_now = push_now

    def _names(self, account: str) -> set[str]:
        self.core.account_config(account)   # unknown account: NotFoundError
        return {s.folder for s in self.core.store.folder_summaries(account)}

    def _check_name(self, name: str) -> str:
        name = name.strip().strip("/")
        if not name or any(p in ("", ".", "..") for p in name.split("/")) or \
                any(ord(c) < 32 or c == "\x7f" for c in name):
            raise UsageError(f"bad folder name {name!r}",
                             hint="levels are separated by '/'; no empty, '.' or '..' levels")
        if name.upper() == "INBOX":
            raise UsageError("INBOX cannot be created, renamed or deleted")
        return name

    def _local_only(self, account: str, folder: str) -> int:
        return sum(1 for r in self.core.store.message_rows(account, folder) if r.uid is None)

    def _queued_for(self, account: str, folder: str) -> int:
        return sum(1 for a in self.core.store.journal.pending(account)
                   if a.payload.get("folder") == folder or a.payload.get("dest") == folder)

    def create(self, account: str, name: str, now: bool = False) -> str:
        name = self._check_name(name)
        if name in self._names(account):
            raise UsageError(f"folder {name!r} already exists in account {account!r}")
        cfg = self.core.account_config(account)
        with self.core.store.db.write():
            if traits_for(cfg).server_folders:
                self.core.store.journal.enqueue(account, CreateFolder(name))
            self.core.store.put_folder_state(FolderState(account, name))
        if now and traits_for(cfg).server_folders:
            self.push_now(account)
        return name

    def rename(self, account: str, old: str, new: str, now: bool = False) -> str:
        old, new = self._check_name(old), self._check_name(new)
        names = self._names(account)
        if old not in names:
            raise NotFoundError(f"no folder {old!r} in account {account!r}",
                                hint="see `mailcli folders`")
        if new in names:
            raise UsageError(f"folder {new!r} already exists in account {account!r}")
        cfg = self.core.account_config(account)
        if not traits_for(cfg).server_folders:
            raise UsageError("POP3 folders are local; move the messages instead",
                             hint=f"mailcli folder create -a {account} {new!r}, then "
                                  f"mailcli move --query 'folder:{old}' {new!r}")
        if self._queued_for(account, old) or self._local_only(account, old):
            raise UsageError(f"{old!r} has changes that have not reached the server yet",
                             hint="run `mailcli fetch` first, then rename")
        self.core.store.journal.enqueue(account, RenameFolder(old, new))
        if now:
            self.push_now(account)
        return new

    def delete(self, account: str, name: str, force: bool = False, now: bool = False) -> int:
        """Returns how many cached messages went with the folder."""
        name = self._check_name(name)
        if name not in self._names(account):
            raise NotFoundError(f"no folder {name!r} in account {account!r}",
                                hint="see `mailcli folders`")
        cfg = self.core.account_config(account)
        local = self._local_only(account, name)
        if local:
            where = ("never reached the server" if traits_for(cfg).server_folders
                     else "exist only in the cache (POP3)")
            raise UsageError(f"{name!r} holds {local} message(s) that {where}; "
                             f"not deleting them",
                             hint=f"move them elsewhere first (mailcli move --query "
                                  f"'folder:\"{name}\"' FOLDER)")
        held = self.core.store.count(account, name)
        if held and not force:
            raise UsageError(f"folder {name!r} is not empty ({held} message(s))",
                             hint="add --force to delete it with its messages")
        with self.core.store.db.write():
            if traits_for(cfg).server_folders:
                # queued message actions inside it are moot: the server copies go with it
                for a in self.core.store.journal.pending(account):
                    if isinstance(a.entry, DeleteUid) and a.entry.folder == name:
                        self.core.store.journal.cancel(a.id)
                self.core.store.journal.enqueue(account, DeleteFolder(name, force))
        self.core.store.delete_folder(account, name)
        if now and traits_for(cfg).server_folders:
            self.push_now(account)
        return held
