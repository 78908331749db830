"""Bad search queries through a real `mailcli` process (issue 17, point 12): each is a
one-line usage error with exit 2, never "internal error" (exit 1); text that is not UTF-8
(a Latin-1 terminal) is searched for, not crashed on."""
from __future__ import annotations

import json

import pytest

from mailcli.store import Store
from tests.cli.conftest import Seeded, assert_one_line_error
from tests.helpers import run


@pytest.mark.parametrize("query, needle", [
    ("(" * 2000 + "a" + ")" * 2000, "nested more than 20 deep"),
    ("NOT " * 3000 + "a", "nested more than 20 deep"),
    (" OR ".join(["is:read"] * 1200), "more than 300 terms"),
    ("after:0000-01-01", "no such date"),
    ("after:2024-02-30", "no such date"),
    ('subject:"caf\udce9', "unterminated quote"),
], ids=["2000-parens", "3000-NOT", "1200-OR", "year-0", "feb-30", "latin1-unterminated"])
def test_bad_queries_are_one_line_usage_errors(seeded: Seeded, query: str, needle: str) -> None:
    r = run("search", query)
    assert_one_line_error(r, 2, needle)
    assert "internal error" not in r.stderr and needle in r.stderr


def test_extreme_dates_and_latin1_bytes_search(seeded: Seeded) -> None:
    with Store(seeded.data) as store:
        cafe = store.deliver("work", "INBOX", "Subject: Caf\u00e9 tomorrow\r\nFrom: c@example.org\r\n"
                             "Date: Mon, 08 Jan 2024 09:00:00 +0000\r\n\r\nsee you\r\n".encode())
    r = run("search", "after:0001-01-01", "--json")
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)) == 7
    r = run("search", "before:0001-01-01")
    assert r.exit_code == 0 and "no matches" in r.stderr
    # argv bytes b"caf\xe9" (not UTF-8): subprocess passes the surrogate as that byte
    r = run("search", "subject:caf\udce9", "--json")
    assert r.exit_code == 0, r.stderr
    assert [e["id"] for e in json.loads(r.stdout)] == [cafe]
