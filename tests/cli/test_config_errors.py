"""Every bad-config case is one `mailcli: error:` line naming file, account and key; exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import invoke

GOOD = {"protocol": '"imap"', "host": '"imap.example.org"', "username": '"me"',
        "password_env": '"X"'}


def write(tmp_path: Path, fields: dict[str, str], extra: str = "") -> Path:
    body = "\n".join(f"{k} = {v}" for k, v in fields.items())
    path = tmp_path / "config.toml"
    path.write_text(f"[accounts.work]\n{body}\n{extra}")
    return path


CASES = [
    ("unknown key", {**GOOD, "hots": '"x"'}, "hots", "did you mean 'host'"),
    ("wrong type", {**GOOD, "username": "42"}, "username", "must be a string"),
    ("bad port", {**GOOD, "port": "70000"}, "port", "1 to 65535"),
    ("port as string", {**GOOD, "port": '"993"'}, "port", "whole number"),
    ("missing host", {k: v for k, v in GOOD.items() if k != "host"}, "host", "missing"),
    ("unknown protocol", {**GOOD, "protocol": '"imap4"'}, "protocol", "'imap', 'pop3'"),
    ("unknown security", {**GOOD, "security": '"ssl"'}, "security", "'tls', 'starttls', 'none'"),
    ("insecure remote", {**GOOD, "security": '"none"'}, "security", "clear text"),
    ("pop3 key on imap", {**GOOD, "keep_days": "3"}, "keep_days", "pop3"),
    ("keep_days without leave", {**GOOD, "protocol": '"pop3"', "keep_days": "3"}, "keep_days",
     "leave_on_server"),
    ("bad size", {**GOOD, "protocol": '"pop3"', "max_message_size": '"big"'}, "max_message_size",
     "size"),
    ("timeout nan", {**GOOD, "timeout": "nan"}, "timeout", "positive number"),
    ("timeout inf", {**GOOD, "timeout": "inf"}, "timeout", "positive number"),
    ("missing protocol", {k: v for k, v in GOOD.items() if k != "protocol"}, "protocol", "missing"),
]


@pytest.mark.parametrize("name,fields,key,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_one_line_exit_2(tmp_path: Path, name: str, fields: dict[str, str],
                                       key: str, needle: str) -> None:
    path = write(tmp_path, fields)
    r = invoke("--config", str(path), "account", "list")
    assert r.exit_code == 2, r
    lines = r.stderr.strip().splitlines()
    first = lines[0]
    assert first.startswith("mailcli: error: "), r.stderr
    assert str(path) in first and "accounts.work" in first and key in first
    assert needle in first
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert len(lines) <= 2  # the error, and at most one hint line


def test_insecure_allowed_on_loopback_and_with_allow_insecure(tmp_path: Path) -> None:
    path = write(tmp_path, {**GOOD, "security": '"none"', "host": '"127.0.0.1"'})
    assert invoke("--config", str(path), "account", "list").exit_code == 0
    path = write(tmp_path, {**GOOD, "security": '"none"', "allow_insecure": "true"})
    assert invoke("--config", str(path), "account", "list").exit_code == 0


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[accounts.work\nhost=")
    r = invoke("--config", str(path), "account", "list")
    assert r.exit_code == 2 and r.stderr.startswith(f"mailcli: error: {path}: not valid TOML")


def test_unknown_smtp_key_names_the_smtp_section(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, '[accounts.work.smtp]\nhost = "smtp.example.org"\nprot = 1\n')
    r = invoke("--config", str(path), "account", "list")
    assert r.exit_code == 2 and "[accounts.work.smtp] prot" in r.stderr


def test_env_var_selects_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("MAILCLI_CONFIG", str(path))
    r = invoke("account", "list", "--json")
    assert r.exit_code == 0 and '"account": "work"' in r.stdout
