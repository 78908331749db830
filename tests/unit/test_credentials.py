"""password_command / password_env / keyring: right password, clear errors, never the secret."""
from __future__ import annotations

import pytest

from mailcli.config.credentials import resolve_password
from mailcli.config.schema import Secret
from mailcli.errors import CredentialError
from mailcli.redact import redact


def test_command_first_line() -> None:
    assert resolve_password(Secret(command="printf 'pw-one\\nsecond\\n'"), "a") == "pw-one"


def test_command_runs_through_shell() -> None:
    assert resolve_password(Secret(command="echo abc | tr a-c x-z"), "a") == "xyz"


def test_failing_command_reports_status_not_password() -> None:
    with pytest.raises(CredentialError) as ei:
        resolve_password(Secret(command="echo hunter2-secret; echo oops >&2; exit 7"), "acct")
    msg = ei.value.message
    assert "exit status 7" in msg and "oops" in msg and "hunter2" not in msg


def test_command_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mailcli.config.credentials.COMMAND_TIMEOUT", 0.3)
    with pytest.raises(CredentialError, match="did not finish"):
        resolve_password(Secret(command="sleep 5"), "a")


def test_command_does_not_read_stdin() -> None:
    # a command that would wait for input must not hang: stdin is /dev/null
    with pytest.raises(CredentialError, match="no password"):
        resolve_password(Secret(command="read x; echo $x"), "a")


def test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_PW", "from-env-pw")
    assert resolve_password(Secret(env="MY_PW"), "a") == "from-env-pw"
    monkeypatch.delenv("MY_PW")
    with pytest.raises(CredentialError, match="MY_PW is not set"):
        resolve_password(Secret(env="MY_PW"), "a")


def test_no_keyring_backend_points_to_password_command() -> None:
    # conftest selects keyring's failing backend, as under cron
    with pytest.raises(CredentialError) as ei:
        resolve_password(Secret(keyring_user="a"), "a")
    assert "keyring" in ei.value.message and "password_command" in (ei.value.hint or "")


def test_resolved_password_is_redacted_everywhere() -> None:
    pw = resolve_password(Secret(command="echo 'Zq9-very-secret'"), "a")
    assert redact(f"connecting with {pw} now") == "connecting with ******** now"
    assert "Zq9" not in redact("PASS Zq9-very-secret")
