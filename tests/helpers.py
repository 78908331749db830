"""Run the real CLI entry point (with its error boundary) in-process and capture
exit code, stdout and stderr separately; and a subprocess variant."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    from mailcli.cli.main import main

    runner = CliRunner()
    code = 0
    with runner.isolation(input=input, env=env) as outstreams:
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = outstreams[0].getvalue().decode(errors="replace")
        err = outstreams[1].getvalue().decode(errors="replace")
    return Result(code, out, err)


def run(*args: str, input: bytes | None = None, timeout: float = 120,
        env: dict[str, str] | None = None) -> Result:
    """mailcli in a subprocess (for sys.modules checks, kills and locks)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "mailcli", *args], input=input,
                          capture_output=True, timeout=timeout, env=full_env)
    return Result(proc.returncode, proc.stdout.decode(errors="replace"),
                  proc.stderr.decode(errors="replace"))


def tree_shape(msg: Any) -> list[Any]:
    """A parsed message tree as comparable data: per part its type, preamble, epilogue,
    payload (or its number of sub-parts), defect names and headers."""
    out = []
    for part in msg.walk():
        payload = part.get_payload()
        out.append((part.get_content_type(), part.preamble, part.epilogue,
                    payload if isinstance(payload, str) else len(payload),
                    [type(d).__name__ for d in part.defects], part.items()))
    return out
