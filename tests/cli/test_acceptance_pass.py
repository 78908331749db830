"""Regressions found by the outside-in acceptance pass (mailcli run as a user would):
`search` with unquoted `-term` exclusions."""
from __future__ import annotations

import json

from tests.cli.conftest import Seeded, assert_one_line_error
from tests.helpers import invoke


def _ids(r) -> list[int]:
    assert r.exit_code == 0, r
    return sorted(m["id"] for m in json.loads(r.stdout))


def test_search_unquoted_exclusions_are_query_terms(seeded: Seeded) -> None:
    # SPEC: `-term` to exclude. Unquoted, click used to read `-is:read` as options -i -s ...
    # and fail with "No such option '-i'" (the --help example itself did).
    everything = _ids(invoke("search", "-subject:nomatch", "--json"))
    assert _ids(invoke("search", "is:unread", "-subject:evil", "--json")) == \
        _ids(invoke("search", "is:unread -subject:evil", "--json"))
    assert seeded.hostile not in _ids(invoke("search", "-n", "50", "-subject:evil", "--json"))
    # a word that starts like the -n option is a term too, and -n5 is still the limit
    newsletter_excluded = _ids(invoke("search", "--json", "-newsletter", "-n5"))
    assert seeded.html not in newsletter_excluded and len(newsletter_excluded) == 5
    assert seeded.html in everything
    # options anywhere still work; unknown --options and a missing value are usage errors
    assert len(_ids(invoke("search", "quarterly", "--limit=1", "--json"))) == 1
    assert_one_line_error(invoke("search", "quarterly", "--bogus"), 2, "no such option")
    assert_one_line_error(invoke("search", "quarterly", "-n"), 2, "requires an argument")
    assert invoke("search", "quarterly", "-h").stdout.startswith("Usage: mailcli search")
