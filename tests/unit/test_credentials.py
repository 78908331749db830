"""password_command / password_env / keyring: right password, clear errors, never the secret."""
from __future__ import annotations

from pathlib import Path

import pytest

from mailcli.config.credentials import PasswordCredentials
from mailcli.config.schema import Secret
from mailcli.errors import CredentialError
from mailcli.redact import redact


def resolve_password(secret: Secret, account: str) -> str:
    return PasswordCredentials("user", secret, account).secret()


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


def counting_command(tmp_path, password: str = "Kc7-counted-secret") -> tuple[Secret, object]:  # noqa: ANN001
    counter = tmp_path / "runs"
    return Secret(command=f"echo run >> {counter}; echo '{password}'"), counter


def runs(counter) -> int:  # noqa: ANN001
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_password_is_resolved_lazily_once_and_registered(tmp_path) -> None:  # noqa: ANN001
    secret, counter = counting_command(tmp_path)
    creds = PasswordCredentials("me", secret, "work")
    assert runs(counter) == 0 and creds.kind == "password" and creds.username == "me"
    assert [creds.secret() for _ in range(3)] == ["Kc7-counted-secret"] * 3
    assert runs(counter) == 1
    assert redact("PLAIN me Kc7-counted-secret") == "PLAIN me ********"


def test_concurrent_first_logins_run_the_command_once(tmp_path) -> None:  # noqa: ANN001
    import threading

    secret, counter = counting_command(tmp_path)
    creds = PasswordCredentials("me", secret, "work")
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(creds.secret())) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == ["Kc7-counted-secret"] * 6 and runs(counter) == 1


def test_a_failure_is_not_cached(tmp_path) -> None:  # noqa: ANN001
    flag = tmp_path / "ready"
    creds = PasswordCredentials("me", Secret(command=f"cat {flag}"), "work")
    with pytest.raises(CredentialError, match="exit status"):
        creds.secret()
    flag.write_text("Rr4-later-secret\n")
    assert creds.secret() == "Rr4-later-secret"


def test_smtp_username_shares_the_accounts_password(tmp_path) -> None:  # noqa: ANN001
    secret, counter = counting_command(tmp_path)
    creds = PasswordCredentials("me", secret, "work")
    smtp = creds.for_username("me@example.org")
    assert smtp.username == "me@example.org" and creds.for_username("me") is creds
    assert smtp.secret() == creds.secret() == "Kc7-counted-secret" and runs(counter) == 1


def test_password_credentials_have_no_token() -> None:
    creds = PasswordCredentials.known("me", "Wq2-typed-secret", "work")
    assert creds.secret() == "Wq2-typed-secret" and "Wq2" not in redact("pw Wq2-typed-secret")
    with pytest.raises(CredentialError, match="uses a password, not OAuth2"):
        creds.token()


def test_credentials_for_an_account_and_its_smtp_section() -> None:
    from mailcli.config import parse_config
    from mailcli.config.credentials import credentials_for

    cfg = parse_config({"accounts": {"work": {
        "protocol": "imap", "host": "h", "username": "me", "password_env": "W_PW",
        "smtp": {"host": "s", "username": "me-smtp", "password_command": "echo s"}}}},
        Path("c.toml")).account("work")
    assert cfg.smtp is not None
    acct, smtp = credentials_for(cfg, "work"), credentials_for(cfg.smtp, "work.smtp")
    assert (acct.username, smtp.username) == ("me", "me-smtp")
    assert smtp.secret() == "s"
    with pytest.raises(CredentialError, match="W_PW"):
        acct.secret()
