"""The cache is private and degrades safely: real `mailcli` processes on the Dovecot fixture.

- with umask 022, everything mailcli creates (data dir, index and its -wal/-shm, the log,
  the compose draft, the config written by `account add`) is 0600/0700, and a second
  local user (nobody, via setpriv) can read none of it, even where every parent is open;
- an existing world-readable data dir is repaired on start, with one log line;
- a read-only data dir still lists, shows, searches and lists folders (exit 0), and a
  command that must write says so (exit 2, never "busy" 75);
- a full disk gives one line and exit 75, not a "--- Logging error ---" per record.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import make_message

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def mailcli(*args: str, umask: int = 0o022, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "mailcli", *args], capture_output=True,
                          text=True, timeout=timeout, env=full,
                          preexec_fn=lambda: os.umask(umask))


def readable_by_nobody(path: Path) -> bool:
    return subprocess.run([*NOBODY, "cat", str(path)], capture_output=True).returncode == 0


@pytest.fixture
def open_base(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A base directory every user can enter (pytest's own tmp dirs are 0700, which
    would hide a mode bug): only mailcli's modes can keep another user out."""
    base = Path(tempfile.mkdtemp(prefix="mailcli-private-", dir="/tmp"))
    os.chmod(base, 0o755)
    monkeypatch.setenv("MAILCLI_DATA", str(base / "data"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def fetched(open_base: Path, write_config, dovecot) -> Path:
    spec = write_config(name="work")
    dovecot.seed(spec.user, [make_message(f"Secret plan {i}", f"the body text {i}\n")
                             for i in range(3)])
    r = mailcli("fetch", "--quiet")
    assert r.returncode == 0, r.stderr
    return open_base / "data"


def test_umask_022_cache_index_wal_shm_log_and_draft_are_private(
        fetched: Path, tmp_path: Path) -> None:
    assert subprocess.run([*NOBODY, "ls", str(fetched.parent)]).returncode == 0  # the base is open
    # the editor runs while `reply` holds the index open (so -wal/-shm exist): it records
    # the modes and what another user can read, then leaves the draft unchanged
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(f"""#!/bin/sh
for f in "{fetched}" "{fetched}/index.sqlite3" "{fetched}/index.sqlite3-wal" \\
         "{fetched}/index.sqlite3-shm" "{fetched}/mailcli.log" "$1"; do
  if [ -d "$f" ]; then probe="ls"; else probe="cat"; fi
  if {' '.join(NOBODY)} $probe "$f" >/dev/null 2>&1; then r=readable; else r=private; fi
  echo "$(stat -c %a "$f") $r $f" >> "{seen}"
done
""")
    editor.chmod(0o755)
    r = mailcli("reply", "1", env={"EDITOR": str(editor), "VISUAL": str(editor)})
    lines = seen.read_text().splitlines()
    assert len(lines) == 6, (lines, r.stderr)
    modes = {line.split(" ", 2)[2]: line.split(" ", 2)[:2] for line in lines}
    for path, (mode, who) in modes.items():
        want = "700" if path == str(fetched) else "600"
        assert (mode, who) == (want, "private"), (path, mode, who)
    assert "/compose/draft-" in lines[-1]
    for f in fetched.rglob("*"):
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
        if f.is_file():
            assert not readable_by_nobody(f), f


def test_world_readable_data_dir_is_repaired_on_start_with_one_log_line(fetched: Path) -> None:
    os.chmod(fetched, 0o755)
    os.chmod(fetched / "index.sqlite3", 0o644)
    os.chmod(fetched / "mailcli.log", 0o644)
    assert readable_by_nobody(fetched / "index.sqlite3")
    r = mailcli("list")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(fetched.stat().st_mode) == 0o700
    assert stat.S_IMODE((fetched / "index.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE((fetched / "mailcli.log").stat().st_mode) == 0o600
    assert not readable_by_nobody(fetched / "index.sqlite3")
    log = (fetched / "mailcli.log").read_text()
    assert log.count("made private") == 1, log
    assert mailcli("list").returncode == 0
    assert (fetched / "mailcli.log").read_text().count("made private") == 1


def test_config_written_by_account_add_is_private(open_base: Path, monkeypatch) -> None:
    config = open_base / "conf" / "mailcli" / "config.toml"
    monkeypatch.setenv("MAILCLI_CONFIG", str(config))
    r = mailcli("account", "add", "--name", "home", "--protocol", "imap", "--host", "imap.example.org",
                "--security", "tls", "--username", "me", "--password-env", "X", "--email", "me@example.org",
                "--no-test")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert not readable_by_nobody(config)


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "mnt"
    point.mkdir()
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_read_only_data_dir_reads_and_refuses_writes(fetched: Path, mount_point: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # as an index written before the last index-only migration: still read (see migrations)
    import sqlite3

    conn = sqlite3.connect(fetched / "index.sqlite3")
    with conn:
        conn.execute("DROP INDEX ix_messages_unsynced")
        conn.execute("DELETE FROM _migrations WHERE name LIKE '%+index'")
    conn.close()
    subprocess.run(["mount", "--bind", str(fetched), str(mount_point)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(mount_point)], check=True)
    monkeypatch.setenv("MAILCLI_DATA", str(mount_point))
    for args in (["list"], ["show", "1"], ["search", "Secret"], ["folders"],
                 ["list", "--json"]):
        r = mailcli(*args)
        assert r.returncode == 0, (args, r.stderr)
        assert "Traceback" not in r.stderr and "busy" not in r.stderr, r.stderr
    assert "Secret plan" in mailcli("search", "plan").stdout
    assert "the body text" in mailcli("show", "2").stdout
    for args in (["flag", "1", "--flagged"], ["fetch", "--quiet"]):
        r = mailcli(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert lines[0].startswith("mailcli: error: ") and "read-only" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_disk_full_is_one_line_exit_75_and_logging_degrades_quietly(
        open_base: Path, mount_point: Path, write_config, dovecot,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write_config(name="work")
    dovecot.seed(spec.user, [make_message(f"Big {i}", "x" * 200_000 + "\n") for i in range(12)])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                   check=True)
    monkeypatch.setenv("MAILCLI_DATA", str(mount_point / "data"))
    r = mailcli("-v", "fetch", "--quiet")
    assert r.returncode == 75, (r.returncode, r.stderr[-2000:])
    assert "Logging error" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith("mailcli: error")]
    assert len(errors) == 1 and "space" in errors[0].lower(), r.stderr[-2000:]
    assert len(r.stderr.splitlines()) < 60, r.stderr[-2000:]
