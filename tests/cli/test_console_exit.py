"""The console entry (`mailcli`, `python -m mailcli`) leaves without the interpreter's
teardown (mailcli.cli.main.run): what a normal exit would have finished is finished
anyway. Output still buffered is written, the exit code is the command's, the index is
closed (its WAL checkpointed and removed, as a normal exit's teardown did), the log has
its lines."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Seeded, make_message
from tests.helpers import run


def test_buffered_output_exit_code_and_closed_index(seeded: Seeded) -> None:
    r = run("list", "--json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 6
    assert not (seeded.data / "index.sqlite3-wal").exists()
    r = run("show", "424242")
    assert r.exit_code == 4 and r.stdout == ""
    assert r.stderr.startswith("mailcli: error: ") and "424242" in r.stderr
    assert not (seeded.data / "index.sqlite3-wal").exists()
    last = (seeded.data / "mailcli.log").read_text().splitlines()[-1]
    assert "ERROR mailcli: show exited 4: " in last


def test_a_closed_stdout_reader_is_no_traceback(seeded: Seeded) -> None:
    """`mailcli list | head -1`: the reader goes away; the flush at the exit must not
    turn that into a traceback or a different exit code."""
    from mailcli.store import Store

    with Store(seeded.data) as store:   # far more than a pipe holds: the reader leaves first
        big = store.deliver("work", "INBOX", make_message("Long", "many words here\n" * 40_000))
    script = (f"{sys.executable} -m mailcli show {big} | head -c 1 >/dev/null;"
              " echo \"rc=${PIPESTATUS[0]}\"")
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ))
    assert proc.stdout.strip() == "rc=0", proc
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr


def test_a_running_non_daemon_thread_gets_the_normal_exit(tmp_path: Path) -> None:
    """With another thread still working (it would be waited for), run() exits as Python
    does: the thread finishes its work first."""
    out = tmp_path / "done"
    code = ("import sys, threading, time\n"
            "import mailcli.cli.main as m\n"
            f"def work():\n    time.sleep(0.3); open({str(out)!r}, 'w').write('x')\n"
            "threading.Thread(target=work).start()\n"
            "sys.argv = ['mailcli', '--version']\n"
            "m.run()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "mailcli" in proc.stdout, proc
    assert out.read_text() == "x"


def _run_with(main_body: str, redirect: str = "") -> subprocess.CompletedProcess[str]:
    """run() around a stand-in for main(), in a shell (for its redirections)."""
    code = ("import sys\n"
            "import mailcli.cli.main as m\n"
            f"def main():\n{main_body}\n"
            "m.main = main\n"
            "m.run()\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}   # buffered
    return subprocess.run(["bash", "-c", f'"$0" -c "$1" {redirect}', sys.executable, code],
                          capture_output=True, text=True, timeout=60, env=env)


def test_output_left_in_the_buffer_is_written_and_the_code_kept() -> None:
    proc = _run_with("    sys.stdout.write('unflushed ' * 100)\n"
                     "    sys.stderr.write('also this')\n"
                     "    sys.exit(3)")
    assert proc.returncode == 3, proc
    assert proc.stdout == "unflushed " * 100 and proc.stderr == "also this"


def test_output_that_cannot_be_written_is_exit_120_as_python_makes_it() -> None:
    # a buffer that holds the text until the exit's flush (a full disk fails only then)
    proc = _run_with("    sys.stdout = open('/dev/full', 'w', buffering=1 << 16)\n"
                     "    sys.stdout.write('x' * 100)\n    sys.exit(0)")
    assert proc.returncode == 120, proc
    assert "Traceback" not in proc.stderr


def test_closed_standard_streams_are_no_failure(seeded: Seeded) -> None:
    for args, redirect in ((["--version"], ">&-"), (["list"], "2>&-"),
                           (["list", "--json"], "2>&-")):
        proc = subprocess.run(["bash", "-c", f'"$0" -m mailcli "$@" {redirect}', sys.executable,
                               *args], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ))
        assert proc.returncode == 0, (args, redirect, proc)
        assert "Traceback" not in proc.stderr, proc.stderr
