"""Where the message list's rows come from: virtual paging over the service (no UI).

A 100,000-message folder is never loaded whole. :class:`PagedRows` knows the row count
and keeps a bounded cache of fixed-size pages; the list widget asks ``peek(i)`` while
drawing and, for rows not cached yet, loads the missing pages in a worker thread
(``load(page)`` calls the service). :class:`ThreadRows` is the materialized alternative
for the threaded view (bounded by THREAD_LIMIT). Both are used only from the UI thread,
except ``fetch_page`` which is pure I/O and runs in a worker.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from mailcli.model import Envelope

PAGE = 100
MAX_PAGES = 40          # pages kept in memory (4,000 envelopes)
THREAD_LIMIT = 20_000   # the threaded view loads the whole folder; refuse above this

Fetch = Callable[[int, int], list[Envelope]]   # (offset, limit) -> envelopes


@dataclass(frozen=True)
class Row:
    envelope: Envelope
    depth: int = 0


class PagedRows:
    """Rows [0, total) fetched a page at a time; `exact` False for searches (count unknown:
    one extra row past the last full page makes the widget ask for more)."""

    def __init__(self, fetch: Fetch, total: int, exact: bool = True) -> None:
        self.fetch = fetch
        self._total = total
        self.exact = exact
        self._pages: OrderedDict[int, list[Envelope]] = OrderedDict()
        self.pending: set[int] = set()
        self.complete = exact   # a search knows its size once a short page arrived

    @property
    def total(self) -> int:
        return self._total

    @property
    def known(self) -> int:
        """Rows known to exist (total without the "more…" row of an open-ended search)."""
        return self._total if self.complete else max(self._total - 1, 0)

    def peek(self, index: int) -> Row | None:
        page, pos = divmod(index, PAGE)
        rows = self._pages.get(page)
        if rows is None or pos >= len(rows):
            return None
        self._pages.move_to_end(page)
        return Row(rows[pos])

    def missing(self, first: int, last: int) -> list[int]:
        """Pages covering rows [first, last] that are neither cached nor being loaded."""
        if self.total <= 0:
            return []
        last = min(last, self.total - 1)
        out = []
        for page in range(max(first, 0) // PAGE, last // PAGE + 1):
            if page not in self._pages and page not in self.pending:
                out.append(page)
        return out

    def fetch_page(self, page: int) -> list[Envelope]:
        """Load one page from the service (runs in a worker thread)."""
        return self.fetch(page * PAGE, PAGE)

    def put(self, page: int, rows: list[Envelope]) -> None:
        self.pending.discard(page)
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        if not self.exact:
            end = page * PAGE + len(rows)
            if len(rows) == PAGE:
                self._total = max(self._total, end + 1)
            else:
                self._total = end
                self.complete = True

    def replace_envelope(self, env: Envelope) -> None:
        """Swap in a changed envelope (e.g. new flags) wherever it is cached."""
        for rows in self._pages.values():
            for i, cur in enumerate(rows):
                if cur.id == env.id:
                    rows[i] = env

    def index_of(self, id: int) -> int | None:
        for page, rows in self._pages.items():
            for i, cur in enumerate(rows):
                if cur.id == id:
                    return page * PAGE + i
        return None


class ThreadRows:
    """All rows of a folder in thread order (already loaded)."""

    exact = True
    complete = True

    def __init__(self, rows: list[tuple[Envelope, int]]) -> None:
        self.rows = [Row(e, d) for e, d in rows]
        self.pending: set[int] = set()

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def known(self) -> int:
        return len(self.rows)

    def peek(self, index: int) -> Row | None:
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def missing(self, first: int, last: int) -> list[int]:
        return []

    def fetch_page(self, page: int) -> list[Envelope]:
        return []

    def put(self, page: int, rows: list[Envelope]) -> None:
        return None

    def replace_envelope(self, env: Envelope) -> None:
        for i, row in enumerate(self.rows):
            if row.envelope.id == env.id:
                self.rows[i] = replace(row, envelope=env)

    def index_of(self, id: int) -> int | None:
        for i, row in enumerate(self.rows):
            if row.envelope.id == id:
                return i
        return None


RowSource = PagedRows | ThreadRows


class EmptyRows(ThreadRows):
    def __init__(self) -> None:
        super().__init__([])
