"""The per-account sync lock: exclusive across processes, immediate failure with the
holder's PID (exit 75), takeover after SIGKILL, release on exceptions."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcli.errors import ExitCode, LockHeld
from mailcli.sync.lock import account_lock, lock_path

ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mailcli.sync.lock import account_lock
    with account_lock(Path(sys.argv[1]), sys.argv[2]):
        print("locked", flush=True)
        time.sleep(120)
""")

CONTENDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from mailcli.errors import LockHeld
    from mailcli.sync.lock import account_lock
    try:
        with account_lock(Path(sys.argv[1]), sys.argv[2]):
            print("acquired", flush=True)
    except LockHeld as exc:
        print(exc.message, flush=True)
        sys.exit(int(exc.exit_code))
""")


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, text=True,
                            stdout=subprocess.PIPE)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = _python(HOLDER, str(tmp_path), "work")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    proc.stdout.close()


def test_second_holder_in_another_process_fails_at_once_naming_the_pid(
        tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    start = time.monotonic()
    with pytest.raises(LockHeld) as info:
        with account_lock(tmp_path, "work"):
            pytest.fail("lock acquired twice")
    assert time.monotonic() - start < 1.0
    assert info.value.exit_code is ExitCode.TEMPORARY
    assert int(info.value.exit_code) == 75
    assert f"process {holder.pid}" in info.value.message
    assert "'work'" in info.value.message
    assert info.value.hint


def test_contending_process_exits_75(tmp_path: Path) -> None:
    with account_lock(tmp_path, "work"):
        proc = _python(CONTENDER, str(tmp_path), "work")
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 75
        assert f"process {os.getpid()}" in out
    proc = _python(CONTENDER, str(tmp_path), "work")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.strip() == "acquired"


def test_stale_lock_after_sigkill_is_taken_over(tmp_path: Path,
                                                holder: subprocess.Popen[str]) -> None:
    path = lock_path(tmp_path, "work")
    assert path.read_text().strip() == str(holder.pid)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert holder.returncode == -signal.SIGKILL
    assert path.read_text().strip() == str(holder.pid)  # the stale file is still there
    with account_lock(tmp_path, "work") as held:
        assert held == path
        assert path.read_text().strip() == str(os.getpid())
    assert path.read_text() == ""


def test_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with account_lock(tmp_path, "work"):
            raise RuntimeError("sync failed")
    with account_lock(tmp_path, "work"):
        pass
    proc = _python(CONTENDER, str(tmp_path), "work")
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out.strip()) == (0, "acquired")


def test_same_process_second_acquisition_is_refused(tmp_path: Path) -> None:
    with account_lock(tmp_path, "work"):
        with pytest.raises(LockHeld, match=f"process {os.getpid()}"):
            with account_lock(tmp_path, "work"):
                pass


def test_accounts_lock_independently(tmp_path: Path) -> None:
    with account_lock(tmp_path, "work"), account_lock(tmp_path, "home"):
        assert {p.name for p in (tmp_path / "locks").iterdir()} == {"work.lock", "home.lock"}


@pytest.mark.parametrize("name", ["../evil", "a/b", "with space", "ünï", "."])
def test_lock_file_stays_inside_the_locks_dir(tmp_path: Path, name: str) -> None:
    path = lock_path(tmp_path, name)
    assert path.parent == tmp_path / "locks"
    assert "/" not in path.name
    with account_lock(tmp_path, name) as held:
        assert held.resolve().parent == (tmp_path / "locks").resolve()
