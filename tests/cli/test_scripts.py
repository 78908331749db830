"""The helper scripts: `ensure_venv` (scripts/lib.sh) runs pip only when the packaging
metadata or the extra changed, and the demo does not end by pointing at a Maildir it has
just deleted."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ensure_venv(project: Path, extra: str = "") -> None:
    subprocess.run(["bash", "-euo", "pipefail", "-c", f". {ROOT / 'scripts' / 'lib.sh'}; ensure_venv {extra}"],
                   cwd=project, check=True, timeout=60)


def test_ensure_venv_skips_pip_when_nothing_changed(tmp_path: Path) -> None:
    bin = tmp_path / ".venv" / "bin"
    bin.mkdir(parents=True)
    log = tmp_path / "pip.log"
    (bin / "python").write_text("#!/bin/sh\nexit 0\n")
    (bin / "pip").write_text(f"#!/bin/sh\necho \"$*\" >> {log}\ntouch {bin / 'mailcli'}\n"
                             f"chmod +x {bin / 'mailcli'}\n")
    for f in ("python", "pip"):
        (bin / f).chmod(0o755)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    calls = lambda: log.read_text().splitlines() if log.exists() else []  # noqa: E731
    _ensure_venv(tmp_path, "test")
    _ensure_venv(tmp_path, "test")
    _ensure_venv(tmp_path)                  # the demo after the tests: "test" covers it
    assert len(calls()) == 1 and calls()[0].endswith("-e .[test]")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '2'\n")
    _ensure_venv(tmp_path)
    _ensure_venv(tmp_path)
    assert len(calls()) == 2 and calls()[1].endswith("-e .")
    _ensure_venv(tmp_path, "test")          # a new extra: installed once more
    _ensure_venv(tmp_path, "test")
    assert len(calls()) == 3


@pytest.mark.dovecot
@pytest.mark.parametrize("keep", [False, True])
def test_demo_never_points_at_a_deleted_maildir(keep: bool, dovecot) -> None:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILCLI_")}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"),
                           *(["--keep"] if keep else [])], capture_output=True, text=True,
                          timeout=180, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tail = proc.stdout[proc.stdout.index("plain Maildir"):]
    paths = [Path(p) for p in re.findall(r"(/\S*mailcli-demo-\S*?)(?=[\s)]|$)", tail)]
    if keep:
        assert paths and all(p.exists() for p in paths), tail
        assert (paths[0] / "demo" / "INBOX" / "cur").is_dir()
        import shutil

        shutil.rmtree(re.search(r"rm -r (\S+)", tail).group(1))  # type: ignore[union-attr]
    else:
        assert paths == [] and "removed" in tail and "--keep" in tail, tail
