"""The search language: every operator against a small store, malformed queries with their
column, and injection attempts that must stay plain text."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.errors import UsageError
from mailcli.model import Flag
from mailcli.store import Store
from mailcli.store.search import And, Not, Or, Term, fts_string, parse, to_sql

MAILS = {
    # key: (folder, from, to, cc, subject, body, date, flags, attachment)
    "report": ("INBOX", "Alice Smith <alice@example.org>", "bob@example.org", "",
               "Quarterly report", "Numbers for the quarter are attached", "2024-01-10",
               {Flag.SEEN}, True),
    "lunch": ("INBOX", "Carol <carol@example.net>", "bob@example.org", "dave@example.com",
              "Lunch tomorrow?", "Shall we try the new café", "2024-02-01", set(), False),
    "invoice": ("Archive/2023", "billing@shop.example", "bob@example.org", "",
                "Invoice 2023-17", "Your invoices: total 12 EUR", "2023-12-31",
                {Flag.SEEN, Flag.FLAGGED}, True),
    "list": ("Lists/python", "Alice Smith <alice@example.org>", "python-dev@python.org", "",
             "Re: PEP draft", "I think the report is fine. or not", "2024-03-05", set(),
             False),
}


def _raw(frm: str, to: str, cc: str, subject: str, body: str, day: str, attach: bool) -> bytes:
    y, m, d = (int(x) for x in day.split("-"))
    import email.utils
    from datetime import datetime, timezone
    date = email.utils.format_datetime(datetime(y, m, d, 12, 0, tzinfo=timezone.utc))
    head = f"From: {frm}\r\nTo: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "") + \
        f"Subject: {subject}\r\nDate: {date}\r\nMessage-ID: <{abs(hash(subject))}@x>\r\n"
    if not attach:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()
    return (head + 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
            f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
            "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
            ' filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n'
            ).encode()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    s = Store(tmp_path_factory.mktemp("search") / "data")
    ids = {}
    for key, (folder, frm, to, cc, subject, body, day, flags, attach) in MAILS.items():
        account = "home" if key == "list" else "work"
        ids[key] = s.deliver(account, folder, _raw(frm, to, cc, subject, body, day, attach),
                             flags=flags, fsync=False)
    s.ids = ids  # type: ignore[attr-defined]
    yield s
    s.close()


def hits(store: Store, query: str) -> set[str]:
    by_id = {v: k for k, v in store.ids.items()}  # type: ignore[attr-defined]
    return {by_id[e.id] for e in store.search(query, limit=100)}


@pytest.mark.parametrize("query, expected", [
    ("from:alice", {"report", "list"}),
    ("from:alice@example.org", {"report", "list"}),
    ('from:"Alice Smith"', {"report", "list"}),
    ("to:python-dev", {"list"}),
    ("to:dave", {"lunch"}),  # to: also searches Cc
    ("cc:dave", {"lunch"}),
    ("subject:quarterly", {"report"}),
    ('subject:"quarterly report"', {"report"}),
    ('"report quarterly"', set()),  # phrases keep word order
    ("body:invoices", {"invoice"}),
    ("body:quarter", {"report"}),  # words match as prefixes
    ("invoic", {"invoice"}),
    ("cafe", {"lunch"}),  # diacritics folded
    ("report", {"report", "list"}),  # bare word: any field
    ("folder:INBOX", {"report", "lunch"}),
    ("folder:inbox", {"report", "lunch"}),
    ("folder:Archive", {"invoice"}),  # and the folders below it
    ("folder:Archive/2023", {"invoice"}),
    ("account:home", {"list"}),
    ("is:unread", {"lunch", "list"}),
    ("is:read", {"report", "invoice"}),
    ("is:flagged", {"invoice"}),
    ("has:attachment", {"report", "invoice"}),
    ("before:2024-01-01", {"invoice"}),
    ("after:2024-02-01", {"lunch", "list"}),  # that day included
    ("after:2024-01-01 before:2024-02-01", {"report"}),
    ("alice report", {"report", "list"}),  # AND by default
    ("alice AND subject:pep", {"list"}),
    ("from:carol OR from:billing", {"lunch", "invoice"}),
    ("alice -is:read", {"list"}),
    ("alice NOT folder:INBOX", {"list"}),
    ("-from:alice", {"lunch", "invoice"}),
    ("(from:carol OR from:billing) is:flagged", {"invoice"}),
    ("-(from:carol OR from:billing)", {"report", "list"}),
    ("lunch or", {"lunch"}),  # lower-case 'or' is a word
    ("nothingmatcheszzz", set()),
])
def test_operators(store: Store, query: str, expected: set[str]) -> None:
    assert hits(store, query) == expected


def test_results_are_paged_newest_first(store: Store) -> None:
    page1 = store.search("bob", limit=2)
    page2 = store.search("bob", limit=2, offset=2)
    assert [e.subject for e in page1 + page2] == [
        "Lunch tomorrow?", "Quarterly report", "Invoice 2023-17"]
    assert [e.id for e in store.search("report", account="home")] == [store.ids["list"]]  # type: ignore[attr-defined]


def test_parse_tree() -> None:
    assert parse('a OR -b c') == Or((Term(None, "a", False, 1),
                                    And((Not(Term(None, "b", False, 7)),
                                         Term(None, "c", False, 9)))))
    assert parse('from:"x y"') == Term("from", "x y", True, 1)
    assert parse(r'"say \"hi\""') == Term(None, 'say "hi"', True, 1)


@pytest.mark.parametrize("query, column, words", [
    ("", 1, "empty query"),
    ("   ", 1, "empty query"),
    ("from:", 1, "needs a value"),
    ("alice subject:", 7, "needs a value"),
    ('subject:"unclosed', 9, "unterminated quote"),
    ('a "b', 3, "unterminated quote"),
    ("(a OR b", 1, "missing ')'"),
    ("a (b (c)", 3, "missing ')'"),
    ("a b)", 4, "unexpected ')'"),
    ("()", 1, "empty parentheses"),
    ("a OR", 3, "OR needs a term"),
    ("OR a", 1, "unexpected OR"),
    ("a OR OR b", 6, "OR needs a term"),
    ("a AND", 3, "AND needs a term"),
    ("a - b", 3, "'-' must be followed"),
    ("a -", 3, "'-' must be followed"),
    ("x NOT", 3, "needs a term"),
    ("size:big", 1, "unknown field 'size:'"),
    ("a http://example.org", 3, "unknown field 'http:'"),
    ("is:purple", 1, "unknown is:purple"),
    ("has:cat", 1, "unknown has:cat"),
    ("before:2024-1-1", 8, "not YYYY-MM-DD"),
    ("a after:2024-02-30", 9, "no such date"),
    ('ab"c"', 3, "a quote must start"),
])
def test_malformed_queries_name_the_column(store: Store, query: str, column: int,
                                           words: str) -> None:
    with pytest.raises(UsageError) as info:
        store.search(query)
    assert f"column {column}" in info.value.message
    assert words in info.value.message
    assert info.value.hint


INJECTIONS = [
    "'; DROP TABLE messages; --",
    "x' OR '1'='1",
    'alice" OR "1"="1',
    '"a" OR 1=1 --',
    "subject:\"\" OR body:*",
    "NEAR(alice bob)",
    "from_:alice",
    "{from_ subject}: alice",
    "alice*",
    "^alice",
    "body:\"\\\" OR \\\"\"",
    "messages_fts MATCH 'x'",
    "rowid:1",
    "a\x00b",
    "\u202e\u0000\x1b[2J",
]


@pytest.mark.parametrize("query", INJECTIONS)
def test_injection_attempts_stay_text(store: Store, query: str) -> None:
    try:
        results = store.search(query, limit=100)
    except UsageError:
        results = []
    # never everything, never an SQL/FTS error, tables intact
    assert len(results) < len(MAILS) or query == "alice*"
    assert store.count() == len(MAILS)


def test_fts_strings_quote_everything() -> None:
    assert fts_string('a"b') == '"a""b"'
    sql, params = to_sql('from:x"y" OR body:"a) OR (b"')  # quote after a word is an error
    assert "?" in sql and 'x"y' not in sql
    assert all(str(p).count('"') % 2 == 0 for p in params)


def test_no_user_text_in_sql() -> None:
    sql, params = to_sql("from:evil' subject:\"); DROP\" folder:x'y account:z before:2024-01-01")
    for fragment in ("evil", "DROP", "x'y", "z"):
        assert fragment not in sql
    assert sql.count("?") == len(params)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_either_searches_or_is_a_usage_error(store: Store, query: str) -> None:
    try:
        store.search(query, limit=5)
    except UsageError as exc:
        assert "column" in exc.message
    except sqlite3.Error as exc:  # pragma: no cover - the failure we guard against
        pytest.fail(f"SQLite error for {query!r}: {exc}")


@pytest.mark.parametrize("query", ["bob", "alice OR carol", "-is:flagged", "example",
                                   "is:read", "zzz"])
@pytest.mark.parametrize("limit, offset", [(1, 0), (2, 1), (3, 0), (10, 0)])
def test_newest_window_shortcut_gives_the_same_pages(store: Store, monkeypatch: pytest.MonkeyPatch,
                                                     query: str, limit: int, offset: int) -> None:
    from mailcli.store import facade

    full = [e.id for e in store.search(query, limit=limit, offset=offset)]
    for window in (0, 1, 2, 3):
        monkeypatch.setattr(facade, "SEARCH_WINDOW", window)
        assert [e.id for e in store.search(query, limit=limit, offset=offset)] == full


# ------------------------------------------------------------ hardening (issue 17, point 12)
@pytest.mark.parametrize("query, needle", [
    ("(" * 2000 + "a" + ")" * 2000, "nested more than 20 deep"),
    ("NOT " * 3000 + "a", "nested more than 20 deep"),
    ("-" * 3000 + "a", "nested more than 20 deep"),
    ("(is:read OR " * 30 + "b" + ")" * 30, "nested more than 20 deep"),
    (" OR ".join(["is:read"] * 1200), "more than 300 terms"),
    ("is:read " * 1500, "more than 300 terms"),
    ("after:0000-01-01", "no such date"),
], ids=["2000-parens", "3000-NOT", "3000-minus", "30-nested-OR", "1200-OR", "1500-AND",
        "year-0"])
def test_deep_long_or_impossible_queries_are_usage_errors(store: Store, query: str,
                                                          needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        store.search(query, limit=5)


def test_the_limits_themselves_still_search(store: Store) -> None:
    """20 levels of the costliest nesting for SQLite's parser, and 300 terms, are fine."""
    alt = "".join("(is:read OR " if i % 2 else "(-is:flagged " for i in range(20))
    assert store.search(alt + "zzz" + ")" * 20, limit=5) is not None
    assert store.search("-(" * 10 + "report" + ")" * 10, limit=5) is not None
    assert store.search(" OR ".join(["is:read"] * 300), limit=5)
    assert store.search(" ".join(f"-x{i}" for i in range(300)), limit=5)


def test_dates_at_the_ends_of_the_calendar(store: Store) -> None:
    ids = {e.id for e in store.search("after:0001-01-01", limit=10)}
    assert ids == set(store.ids.values())  # type: ignore[attr-defined]
    assert store.search("after:9999-12-31", limit=10) == []
    assert store.search("before:0001-01-02", limit=10) == []
    assert len(store.search("before:9999-12-31", limit=10)) == len(MAILS)


def test_undecodable_argv_bytes_are_read_as_latin1(store: Store) -> None:
    """'café' typed on a Latin-1 terminal under a UTF-8 locale reaches Python as
    'caf\\udce9' (surrogateescape)."""
    latin1 = "caf\udce9".encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
    assert latin1 == "caf\udce9"
    assert [e.id for e in store.search(latin1)] == [store.ids["lunch"]]  # type: ignore[attr-defined]
    assert [e.id for e in store.search("body:" + latin1)] == [store.ids["lunch"]]  # type: ignore[attr-defined]
    assert store.search("folder:\udce9\ud800 OR \udfff", limit=5) == []


_PIECES = st.sampled_from(["(", ")", "-", "NOT ", "OR ", "AND ", '"', " ", "a", "caf\udce9",
                           "from:", "is:", "read", "after:", "before:", "0001-01-01",
                           "9999-12-31", "2024-02-30", "folder:", "has:", "*", "\\", "\x00",
                           "\ud800", "é", ":"])


@given(st.lists(_PIECES, max_size=60).map("".join) | st.text(max_size=80)
       | st.integers(1, 4000).flatmap(lambda n: st.sampled_from(
           ["(" * n + "x" + ")" * n, "NOT " * n + "x", "-" * n + "x", "x OR " * n + "y",
            "(x " * n + "y" + ")" * n])))
@settings(max_examples=400, deadline=None)
def test_no_query_is_an_internal_error(store: Store, query: str) -> None:
    """Whatever the text: results, or a UsageError with a column; never another exception
    (which the CLI would report as an internal error, exit 1)."""
    try:
        store.search(query, limit=5)
    except UsageError as exc:
        assert "column" in exc.message and "\n" not in exc.message
