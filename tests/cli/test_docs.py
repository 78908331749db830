"""Generated artefacts stay fresh and usable: completions, man pages and the README's
command reference match the click tree; every command has help; the man pages render;
the README keeps its cron and systemd examples."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd, info_name=path[-1])
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None, f"{' '.join(path + [name])} does not load"
            yield from _walk(sub, path + [name])


def test_artifacts_are_fresh() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_artifacts.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_every_command_has_help() -> None:
    from mailcli.cli.main import cli

    paths = []
    for path, cmd in _walk(cli, ["mailcli"]):
        paths.append(" ".join(path))
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"
    for expected in ("mailcli fetch", "mailcli account add", "mailcli index rebuild",
                     "mailcli search", "mailcli quota"):
        assert expected in paths


@pytest.mark.parametrize("page,needles", [
    ("mailcli.1", ["MAILCLI(1)", "account add", "index rebuild", "EXIT STATUS", "--leave-on-server"]),
    ("mailcli.5", ["MAILCLI(5)", "leave_on_server", "password_command"]),
])
def test_man_pages_render(page: str, needles: list[str]) -> None:
    assert shutil.which("man"), "man is missing: apt-get install man-db"
    proc = subprocess.run(["man", "--warnings", "-l", str(ROOT / "man" / page)],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0",
                                   MANPAGER="cat", PAGER="cat"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
    text = re.sub(".\x08", "", proc.stdout)  # overstrike bold/underline
    text = text.replace("\u2010", "-").replace("\u2212", "-")
    for needle in needles:
        assert needle in text, needle


def test_bash_completion_loads_and_completes() -> None:
    script = ROOT / "completions" / "mailcli.bash"
    proc = subprocess.run(["bash", "-c", f"source {script} && complete -p mailcli"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "mailcli" in proc.stdout, proc.stderr
    env = dict(os.environ, _MAILCLI_COMPLETE="bash_complete", COMP_WORDS="mailcli fe",
               COMP_CWORD="1")
    proc = subprocess.run([sys.executable, "-c",
                           "from mailcli.cli.main import cli; cli(prog_name='mailcli')"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert "fetch" in proc.stdout


def test_readme_examples() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.index("## Two commands") < text.index("## Commands")
    assert "*/5 * * * * /home/me/.local/bin/mailcli fetch --quiet home" in text   # cron: full path
    assert "OnUnitActiveSec=5min" in text and "mailcli-fetch.timer" in text
    assert "completions/mailcli.bash" in text and "man/mailcli.1" in text
    assert "### `mailcli fetch`" in text and "### `mailcli account add`" in text
