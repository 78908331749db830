"""Output that hides nothing (issue 20, point 8), through real `mailcli` processes:
help instead of a squashed error line, "did you mean", -v after the command, a closed
pipe is exit 0, "50 of N" on a terminal, a pager for `show` on a terminal (script -qec),
an aligned attachments listing, and the subject getting the width at 80 columns."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from mailcli.store import Store
from tests.cli.conftest import Seeded, make_message
from tests.helpers import run

MAILCLI = f"{shlex.quote(sys.executable)} -m mailcli"


def _terminal(command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`command` on a pseudo-terminal (util-linux script), 80 columns."""
    full = {**os.environ, "COLUMNS": "80", "LINES": "24", "TERM": "xterm", **(env or {})}
    return subprocess.run(["script", "-qec", f"stty cols 80 rows 24; {command}", "/dev/null"],
                          capture_output=True, text=True, timeout=60, env=full,
                          stdin=subprocess.DEVNULL)


def _many(data: Path, n: int) -> None:
    with Store(data) as store, store.batch():
        for i in range(n):
            store.deliver("work", "INBOX", make_message(f"bulk message number {i}"), uid=100 + i)


def test_bare_mailcli_prints_the_help_and_a_group_its_help(seeded: Seeded) -> None:
    r = run()
    assert r.exit_code == 0 and r.stderr == "", r
    assert r.stdout.startswith("Usage: mailcli") and "\nCommands:\n" in r.stdout
    assert len(r.stdout.splitlines()) > 20
    r = run("account")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("Usage: mailcli account") and "\nCommands:\n" in r.stderr


def test_did_you_mean_and_verbose_after_the_command(seeded: Seeded) -> None:
    r = run("lst")
    assert r.exit_code == 2 and "Did you mean 'list'?" in r.stderr, r
    r = run("list", "-v")
    assert r.exit_code == 0 and "Quarterly report" in r.stdout, r
    r = run("flag", str(seeded.plain), "--seen")
    assert r.exit_code == 0 and r.stdout.startswith("marked 1 message read\n"), r


def test_a_closed_pipe_is_exit_0_and_quiet(seeded: Seeded) -> None:
    _many(seeded.data, 2500)
    proc = subprocess.run(f"{MAILCLI} list --limit 0 | head -1; exit ${{PIPESTATUS[0]}}",
                          shell=True, executable="/bin/bash", capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    assert proc.returncode == 0 and proc.stderr == "", proc
    assert proc.stdout.split()[0] == "ID"


def test_list_says_how_many_it_did_not_show_on_a_terminal(seeded: Seeded) -> None:
    _many(seeded.data, 60)
    r = _terminal(f"{MAILCLI} list")
    assert "50 of 66 shown; --limit 0 shows all" in r.stdout, r.stdout[-500:]
    r = _terminal(f"{MAILCLI} search bulk --offset 50")
    assert "51-60 of 60 shown" not in r.stdout and "of 60" not in r.stdout   # nothing hidden
    r = _terminal(f"{MAILCLI} search bulk -n 10 --offset 5")
    assert "6-15 of 60 shown" in r.stdout, r.stdout[-500:]
    piped = run("list")                 # not a terminal: stdout data only, stderr silent
    assert piped.stderr == "" and len(piped.stdout.splitlines()) == 51


def test_the_subject_gets_the_width_at_80_columns(seeded: Seeded) -> None:
    with Store(seeded.data) as store:
        store.deliver("work", "Archive/Projects/2024", make_message(
            "Re: the long thread about the quarterly numbers and the budget for next year",
            sender="Bartholomew Longname-Smithson <bart@example.org>"), uid=9)
    r = run("list", env={"COLUMNS": "80"})
    header = r.stdout.splitlines()[0]
    subject_width = header.index("SIZE") - header.index("SUBJECT")
    assert subject_width >= 26, header
    assert all(len(line) <= 80 for line in r.stdout.splitlines())


def test_show_pages_on_a_terminal_only(seeded: Seeded, tmp_path: Path) -> None:
    log = tmp_path / "paged.txt"
    pager = tmp_path / "pager"
    pager.write_text(f"#!/bin/sh\ncat > {log}\n")
    pager.chmod(0o755)
    r = _terminal(f"{MAILCLI} show {seeded.plain}", env={"PAGER": str(pager)})
    assert "numbers inside" in log.read_text() and "numbers inside" not in r.stdout
    log.unlink()
    r = _terminal(f"{MAILCLI} show --no-pager {seeded.plain}", env={"PAGER": str(pager)})
    assert not log.exists() and "numbers inside" in r.stdout
    r = run("show", str(seeded.plain), env={"PAGER": str(pager)})
    assert not log.exists() and "numbers inside" in r.stdout


def test_attachments_listing_is_aligned(write_config) -> None:  # noqa: ANN001
    from email.message import EmailMessage

    write_config(name="work")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "two files"
    msg.set_content("see attached\n")
    msg.add_attachment(b"x" * 10, maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(b"y" * 5000, maintype="image", subtype="png",
                       filename="a-much-longer-name.png")
    with Store(Path(os.environ["MAILCLI_DATA"])) as store:
        id = store.deliver("work", "INBOX", msg.as_bytes(), uid=1)
    r = run("attachments", str(id))
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and len(lines) == 3, r
    starts = {line.index(kind) for line, kind in zip(lines, ("TYPE", "application/pdf", "image/png"))}
    assert len(starts) == 1, lines
