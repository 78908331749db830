"""The message list: a virtual, line-rendered list over a RowSource (mailcli.tui.rows).

Only the rows on screen are drawn, and only the pages they fall in are fetched (in a
worker thread), so a 100,000-message folder opens as fast as a 10-message one. Columns:
flag marks, date, sender, attachment mark, subject (indented by thread depth). All message
text is drawn as Rich Text through ``safe_line`` (see mailcli.tui.display): no markup, no
escape sequences.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mailcli.errors import MailcliError
from mailcli.message.sanitize import safe_line
from mailcli.model import Envelope, Flag
from mailcli.tui import display, keys
from mailcli.tui.messages import EnvelopeHighlighted, EnvelopeOpened
from mailcli.tui.rows import PAGE, EmptyRows, Row, RowSource

logger = logging.getLogger(__name__)

MARKS_W, DATE_W, ATTACH_W = 3, 10, 1
SELECT_W = 1  # the "*" of a selected (tagged) row


def column_widths(width: int, show_folder: bool = False) -> tuple[int, int, int, int]:
    """(marks+date+gaps, from, folder, subject) widths for a list `width` cells wide.

    The subject gets the width first: the sender takes a third of what is left after the
    fixed columns (8..24 cells), the folder (search results, whole accounts) a sixth."""
    fixed = SELECT_W + MARKS_W + 1 + DATE_W + 1 + ATTACH_W + 1
    avail = max(0, width - fixed - 1)
    from_w = max(6, min(24, avail // 3))
    folder_w = max(5, min(14, avail // 6)) if show_folder else 0
    subject_w = max(1, avail - from_w - (folder_w + 1 if folder_w else 0))
    return fixed + from_w + 1 + (folder_w + 1 if folder_w else 0), from_w, folder_w, subject_w


def header_text(width: int, sort_label: str, show_folder: bool = False) -> Text:
    _, from_w, folder_w, subject_w = column_widths(width, show_folder)
    text = Text(no_wrap=True)
    text.append(" " * SELECT_W + "   ".ljust(MARKS_W + 1))
    text.append("Date".ljust(DATE_W + 1))
    text.append("From".ljust(from_w + 1))
    if folder_w:
        text.append("Folder".ljust(folder_w + 1)[:folder_w + 1])
    text.append("@ ")
    text.append(f"Subject  (sorted: {sort_label})"[:subject_w])
    return text


class MessageList(ScrollView, can_focus=True):
    """Virtual list of envelopes with a cursor; posts EnvelopeHighlighted/EnvelopeOpened."""

    BINDINGS = keys.bindings("list")

    COMPONENT_CLASSES = {
        "message-list--cursor", "message-list--unread", "message-list--flagged",
        "message-list--loading", "message-list--empty",
    }

    DEFAULT_CSS = """
    MessageList { background: $surface; overflow-x: hidden; }
    MessageList > .message-list--cursor { background: $primary 40%; }
    MessageList:focus > .message-list--cursor { background: $primary; color: $text; }
    MessageList > .message-list--unread { text-style: bold; }
    MessageList > .message-list--flagged { color: $warning; }
    MessageList > .message-list--loading { color: $text-muted; }
    MessageList > .message-list--empty { color: $text-muted; text-style: italic; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    class Resized(Message):
        """The number of rows changed (an open-ended search grew)."""

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.source: RowSource = EmptyRows()
        self.empty_text = "No messages"
        self._last_highlight: int | None | str = "unset"
        self._by_user = False  # the next highlight comes from a key or a click
        self.selected: dict[int, Envelope] = {}  # the tagged messages (Space / t), by id
        self.show_folder = False

    # ------------------------------------------------------------------ data
    def set_source(self, source: RowSource, cursor: int = 0) -> None:
        """Show another set of rows (a folder, a search, a thread view)."""
        self.source = source
        self.virtual_size = Size(0, source.total)
        # (the highlight is announced again only if another message is now under the
        # cursor: re-reading the same one would undo "mark unread")
        self.cursor = max(0, min(cursor, source.total - 1))
        self.scroll_to(y=max(0, self.cursor - self.size.height // 2), animate=False,
                       immediate=True)
        self.refresh()
        self._request_rows()

    @property
    def current(self) -> Envelope | None:
        row = self.source.peek(self.cursor) if self.source.total else None
        return row.envelope if row else None

    def replace_envelope(self, env: Envelope) -> None:
        self.source.replace_envelope(env)
        self.refresh()

    def select_id(self, id: int) -> bool:
        idx = self.source.index_of(id)
        if idx is None:
            return False
        self.cursor = idx
        return True

    # ------------------------------------------------------------------ paging
    def _request_rows(self) -> None:
        height = max(self.size.height, 1)
        top = int(self.scroll_offset.y)
        first, last = top - PAGE // 2, top + height + PAGE // 2
        first = min(first, self.cursor)
        last = max(last, self.cursor)
        pages = self.source.missing(first, last)
        if pages:
            self.source.pending.update(pages)
            self._fetch_pages(self.source, pages)

    @work(thread=True, exit_on_error=False, group="list-pages")
    def _fetch_pages(self, source: RowSource, pages: list[int]) -> None:
        loaded: list[tuple[int, list[Envelope]]] = []
        try:
            for page in pages:
                loaded.append((page, source.fetch_page(page)))
        except MailcliError as exc:
            self.app.call_from_thread(self.app.notify, exc.message, title=exc.title,
                                      severity="error")
        finally:
            self.app.call_from_thread(self._pages_loaded, source, pages, loaded)

    def _pages_loaded(self, source: RowSource, pages: list[int],
                      loaded: list[tuple[int, list[Envelope]]]) -> None:
        if source is not self.source:
            return
        for page, rows in loaded:
            source.put(page, rows)
        source.pending.difference_update(pages)
        if self.virtual_size.height != source.total:
            self.post_message(self.Resized())
            self.virtual_size = Size(0, source.total)
        self.refresh()
        self._announce()

    # ------------------------------------------------------------------ cursor
    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, immediate=True)
        self.refresh()
        self._request_rows()
        self._announce()

    def _announce(self) -> None:
        env = self.current
        key = env.id if env else None
        if key != self._last_highlight:
            self._last_highlight = key
            self.post_message(EnvelopeHighlighted(env, by_user=self._by_user and env is not None))
        if env is not None:
            self._by_user = False

    def _move(self, index: int) -> None:
        """Move the cursor for the user (a key or a click): only such a move lets the
        preview mark a message read after [tui] mark_read_after."""
        self._by_user = True
        self.cursor = index

    def on_resize(self) -> None:
        self.virtual_size = Size(0, self.source.total)
        self._request_rows()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._request_rows()

    def action_cursor_down(self) -> None:
        if self.cursor < self.source.total - 1:
            self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        if self.cursor > 0:
            self._move(self.cursor - 1)

    def action_page_down(self) -> None:
        self._move(min(self.source.total - 1, self.cursor + max(1, self.size.height - 1)))

    def action_page_up(self) -> None:
        self._move(max(0, self.cursor - max(1, self.size.height - 1)))

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(max(0, self.source.total - 1))

    def action_toggle_select(self) -> None:
        """Tag or untag the current message, then go to the next one (mutt's `t`)."""
        env = self.current
        if env is None:
            return
        if self.selected.pop(env.id, None) is None:
            self.selected[env.id] = env
        self.refresh()
        if self.cursor < self.source.total - 1:
            self._move(self.cursor + 1)

    def clear_selection(self) -> None:
        self.selected.clear()
        self.refresh()

    def action_open(self) -> None:
        env = self.current
        if env is not None:
            self.post_message(EnvelopeOpened(env))

    def on_click(self, event: object) -> None:
        y = getattr(event, "y", None)
        if y is not None:
            idx = int(self.scroll_offset.y) + int(y)
            if 0 <= idx < self.source.total:
                if idx == self.cursor and getattr(event, "chain", 1) >= 2:
                    self.action_open()
                self._move(idx)

    # ------------------------------------------------------------------ drawing
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        base = self.rich_style
        if self.source.total == 0:
            if y == 0:
                style = base + self.get_component_rich_style("message-list--empty")
                # (a styled Segment: Text(style=...).render() yields unstyled segments,
                # which Textual's NO_COLOR filter cannot handle)
                return Strip([Segment(" " + self.empty_text, style)]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        if index >= self.source.total:
            return Strip.blank(width, base)
        row = self.source.peek(index)
        if row is None:
            style = base + self.get_component_rich_style("message-list--loading")
            return Strip([Segment("     …", style)]).adjust_cell_length(width, base)
        text = self._row_text(row, self.size.width)
        style = base
        env = row.envelope
        if Flag.SEEN not in env.flags:
            style += self.get_component_rich_style("message-list--unread")
        if Flag.FLAGGED in env.flags:
            style += self.get_component_rich_style("message-list--flagged")
        if index == self.cursor:
            style += self.get_component_rich_style("message-list--cursor")
        text.stylize(style)
        strip = Strip(list(text.render(self.app.console)))
        return strip.crop(0, width).adjust_cell_length(width, style)

    def _row_text(self, row: Row, width: int) -> Text:
        env = row.envelope
        _, from_w, folder_w, subject_w = column_widths(width, self.show_folder)
        subject = display.subject(env)
        if row.depth:
            subject = "  " * min(row.depth - 1, 8) + "└─" + subject
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append("*" if env.id in self.selected else " ")
        text.append(display.flag_marks(env).ljust(MARKS_W + 1))
        text.append(display.short_date(env.date, self.clock()).ljust(DATE_W + 1))
        text.append(_fit(display.sender_name(env.from_), from_w) + " ")
        if folder_w:
            text.append(_fit(safe_line(env.folder), folder_w) + " ")
        text.append(("@" if env.has_attachments else " ") + " ")
        text.append(_fit(subject, subject_w))
        return text


def _fit(s: str, width: int) -> str:
    """Pad or cut `s` to exactly `width` cells (ellipsis when cut)."""
    t = Text(s, no_wrap=True, end="")
    t.truncate(width, overflow="ellipsis", pad=True)
    return t.plain

