"""The `Service` façade: the one typed API of mailcli for both shells.

It builds the parts once, on first use (a part's module is imported only then: a
no-change `fetch` never loads reading, changing, contacts...), each given what it needs
in its constructor (another part as a getter where it may not be needed), and
delegates every public method to one of them:

    core = ServiceCore(config, data_dir, prompt)   config, data dir, store, passwords,
                                                   connections (shared by every part)
    reading  = Reading(core)                       folders, list, show, search, attachments
    flushing = Flushing(core)                      flush_outbox, outbox (send what waits)
    sending  = Sending(core, reading, flushing)    drafts, PGP, send
    syncing  = Syncing(core, reading, flushing.flush_outbox)  fetch, quota, account test
    changing = Changing(core, reading, syncing.push_now)      flag, move, delete
    watching = Watching(core, flushing.flush_outbox)           watch (and the TUI's watcher)

The methods here only forward (their documentation is on the part); the shells call
nothing else.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailcli import paths
from mailcli.config import Config, load_config
from mailcli.model import AttachmentInfo, Contact, Envelope, Flags, FolderSummary, Quota
from mailcli.service.core import ServiceCore

if TYPE_CHECKING:
    from datetime import datetime

    from mailcli.config.schema import AccountConfig
    from mailcli.errors import MailcliError
    from mailcli.send.compose import Draft
    from mailcli.send.outbox import OutboxItem, SendResult
    from mailcli.service.changing import Changing
    from mailcli.service.contacts import Contacts
    from mailcli.service.flushing import Flushing
    from mailcli.service.folders import Folders
    from mailcli.service.opening import OpenedPart
    from mailcli.service.reading import Reading, ShownMessage
    from mailcli.service.sending import Sending
    from mailcli.service.syncing import Syncing
    from mailcli.service.watching import Watching
    from mailcli.store import RebuildReport, Store
    from mailcli.sync.events import Reporter
    from mailcli.sync.runner import FetchResult
    from mailcli.sync.watch import WatchSettings
    from mailcli.sync.watch_events import Emit


class Service:
    """One configured mailcli: ``Service.open(config_path)``, then the methods below."""

    def __init__(self, config: Config, data_dir: Path,
                 prompt: Callable[[str], str] | None = None) -> None:
        self.core = ServiceCore(config, data_dir, prompt)

    # The parts are built (and their modules imported) on first use: a `fetch` with
    # nothing to do never imports reading, changing, contacts... (start-up time, issue 15).
    @cached_property
    def reading(self) -> Reading:
        from mailcli.service.reading import Reading
        return Reading(self.core)

    @cached_property
    def sending(self) -> Sending:
        from mailcli.service.sending import Sending
        return Sending(self.core, lambda: self.reading, self.flushing)

    @cached_property
    def flushing(self) -> Flushing:
        from mailcli.service.flushing import Flushing
        return Flushing(self.core)

    @cached_property
    def syncing(self) -> Syncing:
        from mailcli.service.syncing import Syncing
        return Syncing(self.core, lambda: self.reading,
                       lambda account: self.flushing.flush_outbox(account))

    @cached_property
    def changing(self) -> Changing:
        from mailcli.service.changing import Changing
        return Changing(self.core, self.reading, self.syncing.push_now)

    @cached_property
    def folder_admin(self) -> Folders:
        from mailcli.service.folders import Folders
        return Folders(self.core, self.syncing.push_now)

    @cached_property
    def address_book(self) -> Contacts:
        from mailcli.service.contacts import Contacts
        return Contacts(self.core, lambda address: self.sending.is_own(address))

    @cached_property
    def watching(self) -> Watching:
        from mailcli.service.watching import Watching
        return Watching(self.core, self.flushing.flush_outbox)   # built here, not on a thread

    @classmethod
    def open(cls, config_path: str | Path | None = None, *, must_exist: bool = True,
             prompt: Callable[[str], str] | None = None) -> Service:
        """Load the config (flag > MAILCLI_CONFIG > default) and resolve the data dir.

        `prompt` asks for a password a configured source does not give (None: never ask).
        """
        path = Path(config_path).expanduser() if config_path else paths.default_config_path()
        config = load_config(path, must_exist=must_exist)
        configured = str(config.general.data_dir) if config.general.data_dir else None
        return cls(config, paths.default_data_dir(configured), prompt)

    # ------------------------------------------------------------------ core
    @property
    def config(self) -> Config:
        return self.core.config

    @property
    def data_dir(self) -> Path:
        return self.core.data_dir

    @property
    def store(self) -> Store:
        return self.core.store

    @property
    def read_only(self) -> bool:
        """The cache is read-only (reads work; changes and fetches are refused)."""
        return self.core.store.db.read_only

    def close(self) -> None:
        self.core.close()

    def account_names(self) -> list[str]:
        """The configured account names, in config order."""
        return list(self.core.config.accounts)

    def account_configs(self, names: list[str] | None = None) -> list[AccountConfig]:
        return self.core.account_configs(names)

    def account_config(self, name: str) -> AccountConfig:
        return self.core.account_config(name)

    # ------------------------------------------------------------------ reading
    def resolve(self, ref: str | int) -> Envelope:
        return self.reading.resolve(ref)

    def resolve_many(self, refs: list[str]) -> list[Envelope]:
        return self.reading.resolve_many(refs)

    def folders(self, account: str | None = None) -> list[FolderSummary]:
        return self.reading.folders(account)

    def list_envelopes(self, account: str | None = None, folder: str | None = None,
                       unread: bool = False, limit: int = 50, offset: int = 0,
                       order: str = "date desc") -> list[Envelope]:
        return self.reading.list_envelopes(account, folder, unread, limit, offset, order)

    def count(self, account: str | None = None, folder: str | None = None,
              unread: bool = False) -> int:
        return self.reading.count(account, folder, unread)

    def search_count(self, query: str) -> int:
        return self.reading.search_count(query)

    def search(self, query: str, limit: int = 50, offset: int = 0) -> list[Envelope]:
        return self.reading.search(query, limit, offset)

    def raw(self, ref: str | int) -> bytes:
        return self.reading.raw(ref)

    def show(self, ref: str | int, mark_seen: bool = True, *, prefer_html: bool = False,
             all_headers: bool = False) -> ShownMessage:
        return self.reading.show(ref, mark_seen, prefer_html=prefer_html,
                                 all_headers=all_headers)

    def mark_seen(self, ref: str | int) -> Envelope:
        return self.reading.mark_seen(ref)

    def attachments(self, ref: str | int) -> list[AttachmentInfo]:
        return self.reading.attachments(ref)

    def save_attachments(self, ref: str | int, dest: str | Path, force: bool = False,
                         which: list[int] | None = None) -> list[Path]:
        return self.reading.save_attachments(ref, dest, force, which)

    def keep_pinentry_off_the_terminal(self) -> None:
        """For a full-screen interface: GnuPG is not pointed at our terminal for its
        passphrase prompt (a graphical pinentry or the agent's cache is used)."""
        self.core.pinentry_on_terminal = False

    def open_part(self, ref: str | int, part: str | int | None = None) -> OpenedPart:
        """Hand the HTML part (part None or "html") or attachment `part` to the desktop's
        program (see mailcli.service.opening)."""
        from mailcli.service.opening import open_part

        return open_part(self.core, self.reading, ref, part)

    def last_sync(self, account: str | None = None) -> datetime | None:
        return self.reading.last_sync(account)

    def rebuild_index(self) -> RebuildReport:
        return self.reading.rebuild_index()

    # ------------------------------------------------------------------ changing
    def flag(self, refs: list[str], add: Flags = frozenset(), remove: Flags = frozenset(),
             now: bool = False) -> list[Envelope]:
        return self.changing.flag(refs, add, remove, now)

    def move(self, refs: list[str], folder: str, now: bool = False) -> list[Envelope]:
        return self.changing.move(refs, folder, now)

    def delete(self, refs: list[str], now: bool = False,
               expunge: bool = False) -> list[Envelope]:
        return self.changing.delete(refs, now, expunge)

    def create_folder(self, account: str, name: str, now: bool = False) -> str:
        return self.folder_admin.create(account, name, now)

    def rename_folder(self, account: str, old: str, new: str, now: bool = False) -> str:
        return self.folder_admin.rename(account, old, new, now)

    def delete_folder(self, account: str, name: str, force: bool = False,
                      now: bool = False) -> int:
        return self.folder_admin.delete(account, name, force, now)

    def trash_folder(self, account: str) -> str | None:
        return self.changing.trash_folder(account)

    def undo_move(self, moves: dict[int, str]) -> list[Envelope]:
        return self.changing.undo_move(moves)

    # ------------------------------------------------------------------ syncing
    def fetch(self, accounts: list[str] | None = None, reporter: Reporter | None = None, *,
              dry_run: bool = False, force: bool = False, quiet: bool = False) -> FetchResult:
        return self.syncing.fetch(accounts, reporter, dry_run=dry_run, force=force,
                                  quiet=quiet)

    def fetch_full(self, ref: str | int) -> Envelope:
        return self.syncing.fetch_full(ref)

    def watch(self, accounts: list[str] | None, emit: Emit, *, hook: str | None = None,
              notify: bool = False, stop: threading.Event | None = None,
              settings: WatchSettings | None = None, hooks: bool = True) -> int:
        """Stay running: sync, wait for changes, sync them, run hooks (see Watching)."""
        return self.watching.watch(accounts, emit, hook=hook, notify=notify, stop=stop,
                                   settings=settings, hooks=hooks)

    def push_now(self, account: str) -> None:
        self.syncing.push_now(account)

    def quota(self, accounts: list[str] | None = None,
              errors: dict[str, MailcliError] | None = None) -> list[Quota]:
        return self.syncing.quota(accounts, errors)

    def busy_accounts(self, names: list[str] | None = None) -> list[str]:
        return self.syncing.busy_accounts(names)

    def account_test(self, name: str) -> dict[str, Any]:
        return self.syncing.account_test(name)

    def authorize(self, name: str, *, device: bool = False,
                  open_url: Callable[[str], bool] | None = None,
                  say: Callable[[str], None] = print) -> str:
        from mailcli.service.authorize import authorize

        return authorize(self.core.config, name, device=device, open_url=open_url, say=say)

    # ------------------------------------------------------------------ sending
    def default_account(self) -> str:
        return self.sending.default_account()

    def own_addresses(self, account: str) -> list[str]:
        return self.sending.own_addresses(account)

    def from_addresses(self, account: str) -> list[str]:
        """The account's From lines (its own first, then each identity's)."""
        return self.sending.from_addresses(account)

    def is_own(self, address: str) -> bool:
        return self.sending.is_own(address)

    def new_draft(self, account: str | None = None, from_: str | None = None) -> Draft:
        return self.sending.new_draft(account, from_)

    def set_from(self, draft: Draft, address: str | None = None,
                 account: str | None = None) -> Draft:
        return self.sending.set_from(draft, address, account)

    def reply_draft(self, ref: str | int, all: bool = False) -> Draft:
        return self.sending.reply_draft(ref, all)

    def forward_draft(self, ref: str | int, inline: bool = True,
                      attachments: bool = True) -> Draft:
        return self.sending.forward_draft(ref, inline, attachments)

    def sign(self, draft: Draft) -> Draft:
        return self.sending.sign(draft)

    def save_draft(self, account: str | None, draft: Draft) -> int:
        return self.sending.save_draft(account, draft)

    def drafts(self, account: str | None = None, limit: int = 0) -> list[Envelope]:
        return self.sending.drafts(account, limit)

    def resume_draft(self, ref: str | int) -> Draft:
        return self.sending.resume_draft(ref)

    def send(self, account: str | None, draft: Draft) -> SendResult:
        return self.sending.send(account, draft)

    def pgp_plan(self, draft: Draft) -> str:
        """What PGP/MIME will do with the draft, as one line for a review step ("" for
        nothing), or why it cannot be sent as asked."""
        return self.sending.pgp_plan(draft)

    def flush_outbox(self, account: str | AccountConfig | None = None, *,
                     retry_failed: bool = False, resend_uncertain: bool = False,
                     uploads: bool = True) -> list[SendResult]:
        return self.flushing.flush_outbox(account, retry_failed=retry_failed,
                                          resend_uncertain=resend_uncertain, uploads=uploads)

    def outbox(self, account: str | None = None) -> list[OutboxItem]:
        return self.flushing.outbox(account)

    # ------------------------------------------------------------------ address book
    def contacts(self, query: str = "", limit: int = 0) -> list[Contact]:
        """The address book (cached mail + address_book_command), best first."""
        return self.address_book.contacts(query, limit)

    def complete_address(self, prefix: str, limit: int = 10) -> list[Contact]:
        """Completion for To/Cc/Bcc: the best contacts for what was typed."""
        return self.address_book.complete_address(prefix, limit)

    def resolve_address(self, text: str) -> str:
        """'ali' -> 'Alice <alice@example.org>' when exactly one contact is meant
        (UsageError listing the candidates otherwise); an address stays as given."""
        return self.address_book.resolve_address(text)

    # ------------------------------------------------------------------ drafts as text
    def draft_text(self, draft: Draft) -> str:
        """The draft as editable text (see mailcli.service.drafts)."""
        from mailcli.service import drafts

        return drafts.render(draft)

    def parse_draft_text(self, text: str, base: Draft, strict: bool = True) -> Draft:
        """Edited draft text applied to `base` (UsageError naming a bad line); with
        `strict=False` (saving a draft) a bad address is kept as written."""
        from mailcli.service import drafts

        return drafts.parse(text, base, strict)

    def parse_addresses(self, value: str) -> list[str]:
        """'A <a@x>, b@y' -> ['A <a@x>', 'b@y'] (UsageError for a bad address)."""
        from mailcli.service import drafts

        return drafts.split_addresses(value)

    def editor_command(self) -> list[str]:
        """The editor to run: config general.editor, else $VISUAL, $EDITOR, vi."""
        from mailcli.service import drafts

        return drafts.editor_command(self.core.config.general.editor)
