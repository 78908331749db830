"""Shell completion completes account and folder names (the generated completions call
`mailcli` back through click's protocol), from the config and the cache, silently."""
from __future__ import annotations

from tests.cli.conftest import Seeded
from tests.helpers import run


def _complete(words: str) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    r = run(env={"COMP_WORDS": words, "COMP_CWORD": str(cword),
                 "_MAILCLI_COMPLETE": "bash_complete"})
    assert r.exit_code == 0 and r.stderr == "", r
    return [line.split(",", 1)[1] for line in r.stdout.splitlines() if line.startswith("plain,")]


def test_accounts_and_folders_complete(seeded: Seeded, write_config) -> None:  # noqa: ANN001
    write_config(name="home", protocol="pop3")
    assert _complete("mailcli fetch ") == ["work", "home"]
    assert _complete("mailcli account test h") == ["home"]
    assert _complete("mailcli list -a w") == ["work"]
    assert _complete("mailcli list -f ") == ["Archive", "INBOX"]
    assert _complete("mailcli folder delete -a work I") == ["INBOX"]


def test_completion_with_a_broken_config_is_silent(tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "config.toml"
    bad.write_text("[accounts.x\n")
    r = run(env={"COMP_WORDS": "mailcli fetch ", "COMP_CWORD": "2",
                 "_MAILCLI_COMPLETE": "bash_complete", "MAILCLI_CONFIG": str(bad)})
    assert r.exit_code == 0 and r.stderr == "" and "plain" not in r.stdout
