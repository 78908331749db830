"""Unit tests of the TUI's pure parts: paging, threading, key table, display formatting."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from mailcli.model import Envelope, Flag
from mailcli.tui import display, keys
from mailcli.tui.rows import MAX_PAGES, PAGE, PagedRows, ThreadRows
from mailcli.tui.threads import thread_order

T = datetime(2024, 3, 15, 12, 0, tzinfo=timezone.utc)


def env(id: int, mid: str | None = None, irt: str | None = None, refs: tuple[str, ...] = (),
        hours: int = 0, subject: str = "s") -> Envelope:
    return Envelope(id=id, account="a", folder="INBOX", uid=id, message_id=mid,
                    date=T - timedelta(hours=hours), from_="X <x@y>", to="", cc="",
                    subject=subject, flags=frozenset(), size=1, has_attachments=False,
                    in_reply_to=irt, references=refs)


def test_paged_rows_fetch_only_missing_pages_and_bound_memory() -> None:
    calls: list[tuple[int, int]] = []

    def fetch(offset: int, limit: int) -> list[Envelope]:
        calls.append((offset, limit))
        return [env(i) for i in range(offset, min(offset + limit, 100_000))]

    rows = PagedRows(fetch, 100_000)
    assert rows.peek(0) is None
    assert rows.missing(0, 35) == [0]
    rows.put(0, rows.fetch_page(0))
    assert rows.peek(35).envelope.id == 35
    assert rows.missing(0, 35) == []
    assert rows.missing(99_990, 100_500) == [999]
    rows.pending.add(999)
    assert rows.missing(99_990, 100_000) == []
    for page in range(1, MAX_PAGES + 5):
        rows.put(page, fetch(page * PAGE, PAGE))
    assert rows.peek(0) is None             # the oldest page was dropped
    assert len(calls) == MAX_PAGES + 4 + 1
    assert all(limit == PAGE for _, limit in calls)


def test_open_ended_search_grows_until_a_short_page() -> None:
    data = [env(i) for i in range(250)]
    rows = PagedRows(lambda o, n: data[o:o + n], 0, exact=False)
    rows.put(0, rows.fetch_page(0))
    assert (rows.total, rows.known, rows.complete) == (PAGE + 1, PAGE, False)
    rows.put(1, rows.fetch_page(1))
    assert rows.total == 2 * PAGE + 1
    rows.put(2, rows.fetch_page(2))
    assert (rows.total, rows.known, rows.complete) == (250, 250, True)


def test_replace_envelope_and_index_of() -> None:
    rows = PagedRows(lambda o, n: [env(i) for i in range(o, o + n)], 1000)
    rows.put(3, rows.fetch_page(3))
    changed = replace(env(305), flags=frozenset({Flag.FLAGGED}))
    rows.replace_envelope(changed)
    assert rows.peek(305).envelope.flags == {Flag.FLAGGED}
    assert rows.index_of(305) == 305 and rows.index_of(5) is None


def test_thread_order_nests_replies_and_orders_threads_by_newest() -> None:
    root = env(1, "<r>", hours=50)
    reply = env(2, "<a>", irt="<r>", refs=("<r>",), hours=40)
    reply2 = env(3, "<b>", irt="<a>", refs=("<r>", "<a>"), hours=1)  # makes thread newest
    lone = env(4, "<l>", hours=10)
    orphan = env(5, "<o>", irt="<missing>", refs=("<missing>", "<r>"), hours=30)
    order = thread_order([lone, reply2, root, orphan, reply])
    assert [(e.id, d) for e, d in order] == [(1, 0), (2, 1), (3, 2), (5, 1), (4, 0)]
    rows = ThreadRows(order)
    assert rows.peek(2).depth == 2 and rows.total == 5 and rows.missing(0, 5) == []


def test_thread_order_survives_cycles_and_duplicates() -> None:
    a = env(1, "<a>", irt="<b>", hours=1)
    b = env(2, "<b>", irt="<a>", hours=2)
    dup = env(3, "<a>", hours=3)
    order = thread_order([a, b, dup])
    assert sorted(e.id for e, _ in order) == [1, 2, 3]


def test_key_table_ids_are_unique_and_keymap_reports_unknown() -> None:
    ids = [k.id for k in keys.KEYS]
    assert len(ids) == len(set(ids))
    keymap, unknown = keys.keymap({"reply": "a", "nope": "x"})
    assert keymap == {"reply": "a"} and unknown == ["nope"]
    assert keys.display_keys("j,down") == "j ↓"
    bound = dict((k.id, v) for k, v in keys.effective({"delete": "x"}))
    assert bound["delete"] == "x" and bound["reply"] == "r"


def test_display_neutralizes_and_formats() -> None:
    e = replace(env(1, subject="\x1b]0;title\x07Hi\x1b[31m there"),
                from_="\x1b[5mEvil\x1b[0m <e@x>", flags=frozenset({Flag.FLAGGED, Flag.ANSWERED}))
    assert display.subject(e) == "Hi there"
    assert display.sender_name(e.from_) == "Evil"
    assert display.flag_marks(e) == "NFr"
    assert display.short_date(T - timedelta(hours=1), T) == "11:00"
    assert display.short_date(T - timedelta(days=3), T) == "Mar 12"
    assert display.short_date(T - timedelta(days=400), T) == "2023-02-09"
    assert display.human_size(2048) == "2.0K"
