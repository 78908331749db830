"""account add (flags and interactive, login tested against Dovecot before writing,
existing content kept, no overwrite), account list, account password."""
from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line_error
from tests.helpers import invoke
from tests.servers.dovecot import PASSWORD, Dovecot

EXISTING = '# my mail\n[general]\neditor = "vim"  # keep me\n\n[accounts.old]\nprotocol = "imap"\n' \
           'host = "imap.example.org"\nusername = "me"\npassword_env = "X"\n'


def _config() -> Path:
    return Path(os.environ["MAILCLI_CONFIG"])


def _imap_flags(dovecot: Dovecot, user: str, name: str = "work") -> list[str]:
    return ["account", "add", "--name", name, "--protocol", "imap", "--host", "127.0.0.1",
            "--port", str(dovecot.ports.imaps), "--security", "tls",
            "--tls-ca-file", str(dovecot.ca_file), "--username", user,
            "--password-env", "MAILCLI_TEST_PASSWORD", "--email", f"{user}@example.test",
            "--display-name", "Test User"]


def test_add_with_flags_tests_login_and_keeps_existing(dovecot: Dovecot, mail_user: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    _config().write_text(EXISTING)
    r = invoke(*_imap_flags(dovecot, mail_user))
    assert r.exit_code == 0, r
    assert "login ok" in r.stderr and "added account 'work'" in r.stdout
    text = _config().read_text()
    assert text.startswith(EXISTING)  # byte for byte
    data = tomllib.loads(text)
    assert data["accounts"]["work"] == {
        "protocol": "imap", "host": "127.0.0.1", "port": dovecot.ports.imaps, "security": "tls",
        "tls_ca_file": str(dovecot.ca_file), "username": mail_user,
        "password_env": "MAILCLI_TEST_PASSWORD", "email": f"{mail_user}@example.test",
        "name": "Test User"}
    doc = json.loads(invoke("account", "list", "--json").stdout)
    assert [a["account"] for a in doc] == ["old", "work"]


def test_add_refuses_existing_account(dovecot: Dovecot, mail_user: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    _config().write_text(EXISTING)
    r = invoke(*_imap_flags(dovecot, mail_user, name="old"))
    assert_one_line_error(r, 2, "account 'old' already exists")
    assert _config().read_text() == EXISTING


def test_add_bad_password_writes_nothing(dovecot: Dovecot, mail_user: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", "wrong-password")
    r = invoke(*_imap_flags(dovecot, mail_user))
    assert_one_line_error(r, 3)
    assert "nothing was written" in r.stderr
    assert not _config().exists()


def test_add_no_test_skips_login(dovecot: Dovecot, mail_user: str) -> None:
    r = invoke(*_imap_flags(dovecot, mail_user), "--no-test")  # the env var is not even set
    assert r.exit_code == 0, r
    assert "work" in tomllib.loads(_config().read_text())["accounts"]


def test_add_interactive_pop3_asks_deletion_question(dovecot: Dovecot, mail_user: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    answers = "\n".join([
        "home", "pop3", "127.0.0.1", "tls", str(dovecot.ports.pop3s), mail_user,
        "", "",            # email (blank), name (blank)
        "env", "MAILCLI_TEST_PASSWORD",
        "y", "14",         # leave on server? yes; delete after 14 days
    ]) + "\n"
    r = invoke("account", "add", "--tls-ca-file", str(dovecot.ca_file), input=answers)
    assert r.exit_code == 0, r
    assert "Leave a copy of every message on the server?" in r.stderr
    acc = tomllib.loads(_config().read_text())["accounts"]["home"]
    assert acc["protocol"] == "pop3" and acc["leave_on_server"] is True and acc["keep_days"] == 14
    assert acc["port"] == dovecot.ports.pop3s if dovecot.ports.pop3s != 995 else "port" not in acc


def test_add_pop3_flags_delete_after_download(dovecot: Dovecot, mail_user: str) -> None:
    r = invoke("account", "add", "--name", "home", "--protocol", "pop3", "--host", "127.0.0.1",
               "--port", str(dovecot.ports.pop3s), "--security", "tls", "--username", mail_user,
               "--password-command", "echo secret", "--email", "", "--display-name", "",
               "--delete-after-download", "--no-test")
    assert r.exit_code == 0, r
    acc = tomllib.loads(_config().read_text())["accounts"]["home"]
    assert acc["leave_on_server"] is False and "keep_days" not in acc
    assert acc["password_command"] == "echo secret"


def test_add_usage_errors(dovecot: Dovecot, mail_user: str) -> None:
    base = _imap_flags(dovecot, mail_user)
    assert_one_line_error(invoke(*base, "--keyring"), 2, "only one of")
    assert_one_line_error(invoke(*base, "--keep-days", "3", "--no-test"), 2, "POP3")
    assert_one_line_error(invoke(*base[:-2], "--display-name", "x", "--protocol", "smtp"), 2,
                          "protocol")
    bad = [a if a != "work" else "bad name!" for a in base]
    assert_one_line_error(invoke(*bad, "--no-test"), 2, "account names")
    assert not _config().exists()


def test_add_keyring_unavailable_writes_nothing(dovecot: Dovecot, mail_user: str) -> None:
    flags = [a for a in _imap_flags(dovecot, mail_user)
             if a not in ("--password-env", "MAILCLI_TEST_PASSWORD")]
    r = invoke(*flags, "--keyring", input=f"{PASSWORD}\n")
    assert r.exit_code == 2 and r.stdout == "" and PASSWORD not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-2].startswith("mailcli: error: ") and "keyring is not usable" in lines[-2]
    assert lines[-1].startswith("hint: set password_command or password_env")
    assert not _config().exists()


def test_account_password_errors(write_config) -> None:
    write_config(name="work")
    assert_one_line_error(invoke("account", "password", "nosuch"), 4, "nosuch")
    r = invoke("account", "password", "--stdin", "work", input="s3cret\n")
    assert r.exit_code == 2 and "s3cret" not in r.stderr + r.stdout
    assert r.stderr.strip().splitlines()[-2].startswith("mailcli: error: ")
    assert "keyring is not usable" in r.stderr


def test_account_list_empty_and_json(tmp_path: Path) -> None:
    _config().write_text("")
    r = invoke("account", "list")
    assert r.exit_code == 0 and r.stdout == "" and "no accounts" in r.stderr
    assert json.loads(invoke("account", "list", "--json").stdout) == []


def test_account_password_without_a_terminal_is_a_clean_exit_2(write_config) -> None:  # noqa: ANN001
    from tests.helpers import run

    write_config(name="work")
    r = run("account", "password", "work", input=b"")
    assert r.exit_code == 2 and r.stdout == "", r
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "mailcli: error: account password asks on a terminal, and there is none"
    assert len(lines) == 2 and lines[1].startswith("hint: ") and "--stdin" in lines[1]
    assert "Warning" not in r.stderr and "getpass" not in r.stderr


def test_wizard_checks_answers_at_once_and_retries_only_the_failing_step(
        dovecot: Dovecot, mail_user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    monkeypatch.setenv("WRONG_PW", "not-the-password")
    _config().write_text(EXISTING)
    answers = "\n".join([
        "old", "work",                      # an existing name: refused at once, asked again
        "imap", "imap.example.org:993", "127.0.0.1",   # a bad host: asked again
        "tls", str(dovecot.ports.imaps), mail_user, "", "",
        "env", "WRONG_PW",
        "",                                 # SMTP server: none
        "y",                                # the self-signed certificate: trust it
        "", "MAILCLI_TEST_PASSWORD",        # login refused: user name kept, the right variable
    ]) + "\n"
    r = invoke("account", "add", input=answers)
    assert r.exit_code == 0, r
    err = r.stderr
    assert err.count("Account name") == 2 and "already an account 'old'" in err
    assert err.count("Server host name") == 2 and "no spaces, no scheme, no port" in err
    assert "SMTP server for sending" in err
    assert "SHA-256 fingerprint" in err and "login ok" in err
    assert err.count("Protocol") == 1 and err.count("Email address") == 1   # nothing else again
    acc = tomllib.loads(_config().read_text())["accounts"]["work"]
    ca = Path(acc["tls_ca_file"])
    assert ca.read_text() == dovecot.ca_file.read_text() and (ca.stat().st_mode & 0o777) == 0o600
    assert acc["password_env"] == "MAILCLI_TEST_PASSWORD" and acc["username"] == mail_user


def test_existing_name_is_refused_before_any_question(dovecot: Dovecot) -> None:
    _config().write_text(EXISTING)
    r = invoke("account", "add", "--name", "old", "--email", "me@gmx.de", input="")
    assert_one_line_error(r, 2, "account 'old' already exists")
    assert "?" not in r.stderr.splitlines()[0] and "Protocol" not in r.stderr


def test_wizard_falls_back_from_an_unusable_keyring_to_a_command(dovecot: Dovecot,
                                                                 mail_user: str) -> None:
    # the tests' keyring backend refuses everything, like a headless machine's
    answers = "\n".join([
        "work", "imap", "127.0.0.1", "tls", str(dovecot.ports.imaps), mail_user, "", "",
        "keyring",                          # chosen anyway: refused with a word, asked again
        "",                                 # the default is now "command"
        f"echo {PASSWORD}", "",
    ]) + "\n"
    r = invoke("account", "add", "--tls-ca-file", str(dovecot.ca_file), input=answers)
    assert r.exit_code == 0, r
    assert "the system keyring is not usable here" in r.stderr
    assert "choose command or env" in r.stderr and "[command]" in r.stderr
    acc = tomllib.loads(_config().read_text())["accounts"]["work"]
    assert acc["password_command"] == f"echo {PASSWORD}"
