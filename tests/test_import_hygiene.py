"""Start-up stays light: `mailcli --help` and `mailcli list` load no heavy modules
(textual, rich, imapclient, mailparser, keyring), checked in a fresh interpreter."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("textual", "rich", "imapclient", "mailparser", "keyring", "html2text")

PROBE = """
import json, sys
from mailcli.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))
sys.stderr.write('\\nHEAVY=' + json.dumps(heavy) + '\\n')
""" % (HEAVY,)


def loaded(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=60)
    line = [l for l in proc.stderr.splitlines() if l.startswith("HEAVY=")][-1]
    return json.loads(line[6:])


def test_import_cli_is_light() -> None:
    proc = subprocess.run([sys.executable, "-c",
                           "import sys, mailcli.cli.main; print(sorted(m for m in sys.modules))"],
                          capture_output=True, text=True, timeout=60)
    mods = proc.stdout
    for heavy in HEAVY:
        assert f"'{heavy}'" not in mods


def test_help_is_light() -> None:
    assert loaded("--help") == []


def test_list_is_light(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[accounts.a]\nprotocol = "imap"\nhost = "127.0.0.1"\nusername = "u"\npassword_env = "X"\n')
    assert loaded("--config", str(tmp_path / "config.toml"), "list") == []
