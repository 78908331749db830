"""The main screen: folder tree | message list over preview, search input, status bar.

Owns what is being looked at (a folder, a whole account, or a search), the sort order and
the threaded view, and loads them through the service in thread workers. Actions on the
current message live on the App (mailcli.tui.actions) and call back ``reload()``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from mailcli.errors import MailcliError, NotFoundError
from mailcli.model import Envelope, Flag, FolderSummary
from mailcli.tui import keys
from mailcli.tui.messages import EnvelopeHighlighted, EnvelopeOpened, FolderSelected, MailChanged
from mailcli.tui.rows import PAGE, THREAD_LIMIT, EmptyRows, PagedRows, RowSource, ThreadRows
from mailcli.tui.threads import thread_order
from mailcli.tui.widgets.folder_tree import FolderTree
from mailcli.tui.widgets.message_body import MessageBody
from mailcli.tui.widgets.message_list import MessageList, header_text
from mailcli.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from mailcli.service import ShownMessage
    from mailcli.tui.app import MailApp

logger = logging.getLogger(__name__)

SORTS = (("date desc", "newest first"), ("date asc", "oldest first"),
         ("from asc", "by sender"), ("subject asc", "by subject"),
         ("size desc", "largest first"),
         ("id desc", "arrival, newest first"), ("id asc", "arrival, oldest first"))

# the folder sidebar: full from WIDE columns, narrow below, hidden below NARROW (`b` cycles)
SIDEBAR_WIDE, SIDEBAR_NARROW = 100, 70
SIDEBAR_FULL_W, SIDEBAR_SMALL_W = 30, 18


@dataclass(frozen=True)
class View:
    """What the list shows: a folder (folder None = the whole account) or a search."""

    account: str | None = None
    folder: str | None = None
    query: str | None = None

    @property
    def label(self) -> str:
        if self.query is not None:
            return f"search: {self.query}"
        if self.account is None:
            return "all mail"
        return f"{self.account}/{self.folder}" if self.folder else f"{self.account} (all folders)"


class MainScreen(Screen[None]):
    BINDINGS = keys.bindings("main")

    app: MailApp

    def __init__(self) -> None:
        super().__init__()
        self.view = View()
        self.sort_index = 0
        self.threaded = False
        self._generation = 0
        self.total = 0
        self.folder_view: View = View()
        self._preview_timer: Timer | None = None
        self._read_timer: Timer | None = None
        self.sidebar: str | None = None  # None: by width; else "full" | "narrow" | "hidden"

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield FolderTree(id="folders")
            with Vertical(id="right"):
                yield Input(placeholder="search: from:alice is:unread has:attachment  "
                                        "(Enter to search, Esc to leave)",
                            id="search", classes="-hidden")
                yield Static("", id="list-header", markup=False)
                yield MessageList(self.app.clock, id="messages")
                yield MessageBody(id="preview")
        yield StatusBar(self.app.clock, id="status")
        yield Footer()

    @property
    def message_list(self) -> MessageList:
        return self.query_one("#messages", MessageList)

    @property
    def preview(self) -> MessageBody:
        return self.query_one("#preview", MessageBody)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    @property
    def folder_tree(self) -> FolderTree:
        return self.query_one("#folders", FolderTree)

    @property
    def current_envelope(self) -> Envelope | None:
        return self.message_list.current

    @property
    def sort(self) -> str:
        return SORTS[self.sort_index][0]

    def on_mount(self) -> None:
        self.message_list.focus()
        self._draw_header()
        self.load_folders(first=True)

    def on_resize(self) -> None:
        self._layout_sidebar()
        self._draw_header()

    # ------------------------------------------------------------------ sidebar
    def sidebar_mode(self) -> str:
        if self.sidebar is not None:
            return self.sidebar
        width = self.size.width
        return "full" if width >= SIDEBAR_WIDE else "narrow" if width >= SIDEBAR_NARROW else "hidden"

    def _layout_sidebar(self) -> None:
        tree = self.folder_tree
        mode = self.sidebar_mode()
        tree.display = mode != "hidden"
        tree.styles.width = SIDEBAR_FULL_W if mode == "full" else SIDEBAR_SMALL_W
        if mode == "hidden" and self.focused is tree:
            self.message_list.focus()

    def action_toggle_sidebar(self) -> None:
        """full -> narrow -> hidden -> full (the choice then holds at any width)."""
        order = ("full", "narrow", "hidden")
        self.sidebar = order[(order.index(self.sidebar_mode()) + 1) % len(order)]
        self._layout_sidebar()
        self.call_after_refresh(self._draw_header)

    # ------------------------------------------------------------------ folders
    @work(thread=True, exclusive=True, exit_on_error=False, group="folders")
    def load_folders(self, first: bool = False) -> None:
        try:
            summaries = self.app.service.folders()
            synced = self.app.service.last_sync() if first else None
        except MailcliError as exc:
            self.app.call_from_thread(self.app.show_error, exc)
            return
        if first:
            self.app.call_from_thread(self.status.set_cached_sync, synced)
        self.app.call_from_thread(self._folders_loaded, summaries, first)

    def _folders_loaded(self, summaries: list[FolderSummary], first: bool) -> None:
        self.folder_tree.show(self.app.service.account_names(), summaries)
        if first:
            start = _first_folder(self.app.service.account_names(), summaries)
            self.open_view(start)
            if start.account is not None:
                self.folder_tree.select_target(start.account, start.folder)
        self._draw_where()

    @on(FolderSelected)
    def _folder_selected(self, event: FolderSelected) -> None:
        self.hide_search()
        self.open_view(View(event.account, event.folder))
        self.message_list.focus()

    # ------------------------------------------------------------------ list
    def open_view(self, view: View, cursor: int = 0, keep_id: int | None = None) -> None:
        """Show a folder/account/search; rows arrive from a worker."""
        self.view = view
        if view.query is None:
            self.folder_view = view
        self._generation += 1
        self.message_list.show_folder = view.query is not None or view.folder is None
        self.message_list.clear_selection()
        self._draw_header()
        self.load_rows(view, self.sort, self.threaded, self._generation, cursor, keep_id)

    def reload(self, keep_cursor: bool = True) -> None:
        """Re-read the current view and the folder counts (after an action or a sync)."""
        env = self.current_envelope
        self.open_view(self.view, self.message_list.cursor if keep_cursor else 0,
                       env.id if (env and keep_cursor) else None)
        self.load_folders()

    @work(thread=True, exclusive=True, exit_on_error=False, group="rows")
    def load_rows(self, view: View, sort: str, threaded: bool, generation: int,
                  cursor: int, keep_id: int | None) -> None:
        try:
            source: RowSource = self._build_source(view, sort, threaded, cursor)
        except MailcliError as exc:
            if not (isinstance(exc, NotFoundError) and view.query is None):
                self.app.call_from_thread(self.app.show_error, exc)
                if view.query is not None:
                    self.app.call_from_thread(self._search_failed)
                return
            # a configured account whose folder is not cached yet (never synced): empty
            source = EmptyRows()
        self.app.call_from_thread(self._rows_loaded, source, generation, cursor, keep_id)

    def _build_source(self, view: View, sort: str, threaded: bool, cursor: int) -> RowSource:
        """Count and first page (or the whole thread view); runs in the rows worker."""
        service = self.app.service
        if view.query is not None:
            query = view.query

            def search(offset: int, limit: int) -> list[Envelope]:
                return service.search(query, limit=limit, offset=offset)

            found = PagedRows(search, 0, exact=False)
            found.put(0, search(0, PAGE))
            return found
        account, folder = view.account, view.folder
        if threaded:
            envs = service.list_envelopes(account, folder, limit=THREAD_LIMIT + 1)
            if len(envs) <= THREAD_LIMIT:
                return ThreadRows(thread_order(envs))
            self.app.call_from_thread(
                self.app.notify, f"More than {THREAD_LIMIT:,} messages: shown unthreaded",
                severity="warning")

        def fetch(offset: int, limit: int) -> list[Envelope]:
            return service.list_envelopes(account, folder, limit=limit, offset=offset,
                                          order=sort)

        total = service.count(account=account, folder=folder)
        rows = PagedRows(fetch, total)
        first_page = max(0, min(cursor, max(total - 1, 0))) // PAGE
        rows.put(first_page, fetch(first_page * PAGE, PAGE))
        return rows

    def _rows_loaded(self, source: RowSource, generation: int, cursor: int,
                     keep_id: int | None) -> None:
        if generation != self._generation:
            return
        self.total = source.total
        lst = self.message_list
        lst.empty_text = "No matches" if self.view.query is not None else "No messages"
        lst.set_source(source, cursor)
        if keep_id is not None:
            lst.select_id(keep_id)
        if source.total == 0:
            self.preview.clear("No message selected")
        self._draw_where()

    def _draw_where(self) -> None:
        source = self.message_list.source
        count = f"{source.known:,}" + ("" if source.complete else "+")
        mode = " | threads" if self.threaded and self.view.query is None else ""
        self.status.set_where(f"{self.view.label} | {count} messages{mode}")

    @on(MessageList.Resized)
    def _list_resized(self) -> None:
        self._draw_where()

    def _draw_header(self) -> None:
        label = "threads" if self.threaded and self.view.query is None else SORTS[self.sort_index][1]
        header = self.query_one("#list-header", Static)
        header.update(header_text(max(self.message_list.size.width, 20), label,
                                  self.message_list.show_folder))

    # ------------------------------------------------------------------ preview
    @on(EnvelopeHighlighted)
    def _highlighted(self, event: EnvelopeHighlighted) -> None:
        for timer in (self._preview_timer, self._read_timer):
            if timer is not None:
                timer.stop()
        self._preview_timer = self._read_timer = None
        if event.envelope is None:
            self.preview.clear()
            return
        # wait until the cursor rests: holding j scrolls without reading every message
        delay = self.app.preview_delay
        load = partial(self.load_preview, event.envelope, event.by_user)
        if delay <= 0:
            load()
        else:
            self._preview_timer = self.set_timer(delay, load)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def load_preview(self, env: Envelope, by_user: bool = False) -> None:
        # the preview never marks read by itself: only opening the message, or resting
        # on it for [tui] mark_read_after after the user moved there (_preview_loaded)
        try:
            shown = self.app.service.show(env.id, mark_seen=False, all_headers=True)
        except MailcliError as exc:
            self.app.call_from_thread(self.preview.clear, f"{exc.title}: {exc.message}")
            return
        self.app.call_from_thread(self._preview_loaded, env, shown, by_user)

    def _preview_loaded(self, env: Envelope, shown: ShownMessage, by_user: bool = False) -> None:
        current = self.current_envelope
        if current is None or current.id != env.id:
            return
        self.preview.show_message(shown)
        self.message_list.replace_envelope(shown.envelope)
        after = self.app.mark_read_after
        if (by_user and after is not None and Flag.SEEN not in shown.envelope.flags
                and env.id not in self.app.kept_unread):
            self._read_timer = self.set_timer(after, partial(self._rested, env.id))

    def _rested(self, id: int) -> None:
        """The preview stayed on message `id` for mark_read_after: mark it read."""
        self._read_timer = None
        current = self.current_envelope
        if current is not None and current.id == id and id not in self.app.kept_unread:
            self.mark_read(id)

    @work(thread=True, exit_on_error=False, group="mark-read")
    def mark_read(self, id: int) -> None:
        try:
            fresh = self.app.service.mark_seen(id)
        except MailcliError as exc:
            self.app.call_from_thread(self.app.show_error, exc)
            return
        self.app.call_from_thread(self._marked_read, fresh)

    def _marked_read(self, fresh: Envelope) -> None:
        self.message_list.replace_envelope(fresh)
        self.preview.update_envelope(fresh)
        self.load_folders()

    @on(EnvelopeOpened)
    def _opened(self, event: EnvelopeOpened) -> None:
        from mailcli.tui.screens.message import MessageScreen

        self.app.push_screen(MessageScreen(event.envelope, self.message_list))

    @on(MailChanged)
    def _mail_changed(self, event: MailChanged) -> None:
        self.reload(event.keep_cursor)

    # ------------------------------------------------------------------ search
    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.remove_class("-hidden")
        if self.view.query is not None:
            search.value = self.view.query
        search.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if not query:
            self.action_clear_search()
            return
        self.open_view(View(query=query))
        self.message_list.focus()

    def _search_failed(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear_search(self) -> None:
        was_searching = self.view.query is not None
        self.hide_search()
        if was_searching:
            self.open_view(self.folder_view)
        self.message_list.focus()

    def hide_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("-hidden")
        search.value = ""

    def on_key(self, event: Any) -> None:
        # Esc inside the search box leaves the search (Input would keep it otherwise)
        if event.key == "escape" and self.focused is self.query_one("#search", Input):
            event.stop()
            self.action_clear_search()

    # ------------------------------------------------------------------ modes
    def action_cycle_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.threaded = False
        self.app.notify(f"Sorted {SORTS[self.sort_index][1]}", timeout=2)
        self.open_view(self.view)

    def set_sort(self, index: int) -> None:
        self.sort_index = index
        self.threaded = False
        self.open_view(self.view)

    def action_toggle_threads(self) -> None:
        self.threaded = not self.threaded
        self.open_view(self.view)

    def action_focus_next_pane(self) -> None:
        if self.focused is self.message_list:
            self.folder_tree.focus()
        else:
            self.message_list.focus()

    def goto_folder(self, account: str, folder: str | None) -> None:
        self.hide_search()
        self.folder_tree.select_target(account, folder)
        self.open_view(View(account, folder))
        self.message_list.focus()


def _first_folder(accounts: list[str], summaries: list[FolderSummary]) -> View:
    for account in accounts:
        folders = [s.folder for s in summaries if s.account == account]
        if "INBOX" in folders:
            return View(account, "INBOX")
        if folders:
            return View(account, folders[0])
    if summaries:
        return View(summaries[0].account, summaries[0].folder)
    return View(accounts[0], "INBOX") if accounts else View()

