"""`mailcli open REF [PART]` (issue 20): the HTML part or an attachment goes to the
desktop's program ($MAILCLI_OPENER here: a script that records what it got) as a 0600
file in a 0700 directory; bad parts are one-line errors."""
from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Seeded, assert_one_line_error
from tests.helpers import run


@pytest.fixture
def opener(tmp_path: Path) -> tuple[str, Path]:
    record = tmp_path / "opened.json"
    script = tmp_path / "opener.py"
    script.write_text(
        "import json, os, stat, sys\n"
        "p = sys.argv[1]\n"
        "json.dump({'path': p, 'mode': stat.S_IMODE(os.stat(p).st_mode),\n"
        "           'dir_mode': stat.S_IMODE(os.stat(os.path.dirname(p)).st_mode),\n"
        "           'data': open(p, 'rb').read().decode('latin-1')},\n"
        f"          open({str(record)!r}, 'w'))\n")
    return f"{sys.executable} {script}", record


def test_open_attachment_hands_a_private_copy_to_the_opener(seeded: Seeded,
                                                            opener: tuple[str, Path]) -> None:
    command, record = opener
    r = run("open", str(seeded.attach), "1", env={"MAILCLI_OPENER": command})
    assert r.exit_code == 0, r.stderr
    got = json.loads(record.read_text())
    assert Path(got["path"]).name == "invoice.pdf"
    assert got["mode"] == 0o600 and got["dir_mode"] == 0o700
    assert got["data"].encode("latin-1") == b"%PDF-1.4 fake"
    assert "opened" in r.stdout and "invoice.pdf" in r.stdout


def test_open_html_part_by_default(seeded: Seeded, opener: tuple[str, Path]) -> None:
    command, record = opener
    r = run("open", str(seeded.html), "--json", env={"MAILCLI_OPENER": command})
    assert r.exit_code == 0, r.stderr
    got = json.loads(record.read_text())
    assert got["path"].endswith("message.html") and got["mode"] == 0o600
    assert "<p>Hello <b>HTML</b> world</p>" in got["data"]
    assert json.loads(r.stdout)["content_type"] == "text/html"


def test_open_errors_are_one_line(seeded: Seeded, opener: tuple[str, Path], tmp_path: Path) -> None:
    command, record = opener
    assert_one_line_error(run("open", str(seeded.attach), "7", env={"MAILCLI_OPENER": command}),
                          4, "no attachment 7")
    assert_one_line_error(run("open", str(seeded.plain), env={"MAILCLI_OPENER": command}),
                          4, "no HTML part")
    assert_one_line_error(run("open", str(seeded.attach), "1",
                              env={"MAILCLI_OPENER": str(tmp_path / "missing-opener")}),
                          2, "cannot run")
    assert_one_line_error(run("open", str(seeded.attach), "1", env={"MAILCLI_OPENER": "false"}),
                          1, "false exited with status 1")
    assert not record.exists()
