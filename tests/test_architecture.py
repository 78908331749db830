"""The layering of DESIGN.md is enforced: import-linter contracts (one-way flow, no UI
imports in the core, the shells import only the service, model, errors and sanitize) and
the generated docs are fresh."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_kept() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout
    # the shells reach the core only through mailcli.service (issue 18)
    assert "the shells talk only to the service KEPT" in proc.stdout
