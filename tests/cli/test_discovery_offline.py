"""Known providers need no network: `account add --email ADDR --yes` for every domain of the
built-in table, with networking unavailable: in a new network namespace (`unshare -rn`:
no interface is up) for one address per provider, and in-process with every socket call
refused and recorded for every domain of the table."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mailcli.discovery import table
from tests.helpers import invoke

REQUIRED = ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
            "icloud.com", "fastmail.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de",
            "t-online.de", "mailbox.org", "posteo.de", "ionos.de", "1und1.de", "strato.de"]


def _flags(domain: str, name: str) -> list[str]:
    provider = table.by_domain(domain)
    assert provider is not None
    auth = ["--auth", "password"] if provider.oauth2 else []   # the oauth2 keys: other branch
    return ["account", "add", "--email", f"me@{domain}", "--yes", "--no-test", "--name", name,
            "--password-env", "MAILPW", "--display-name", "Me", *auth]


def _expected(domain: str) -> dict[str, object]:
    provider = table.by_domain(domain)
    assert provider is not None
    imap = next(s for s in provider.servers if s.protocol == "imap")
    smtp = next(s for s in provider.servers if s.protocol == "smtp")
    return {"host": imap.host, "security": imap.security, "smtp_host": smtp.host,
            "smtp_port": smtp.port}


def _check(config: Path, name: str, domain: str) -> None:
    acc = tomllib.loads(config.read_text())["accounts"][name]
    want = _expected(domain)
    assert (acc["protocol"], acc["host"], acc["security"]) == ("imap", want["host"], want["security"])
    assert (acc["smtp"]["host"], acc["smtp"]["port"]) == (want["smtp_host"], want["smtp_port"])
    assert acc["email"] == f"me@{domain}" and acc["username"] in (f"me@{domain}", "me")
    # Gmail, Outlook.com (and Microsoft 365) file submitted mail into Sent themselves
    saves = domain.split(".")[0] in ("gmail", "googlemail", "outlook", "hotmail", "live", "msn")
    assert acc.get("server_saves_sent", False) is saves, domain


def test_table_covers_the_required_providers() -> None:
    for domain in REQUIRED:
        assert table.by_domain(domain) is not None, domain
    assert table.by_domain("gmail.com").oauth2 == "google"
    assert table.by_domain("hotmail.com").oauth2 == "microsoft"
    assert table.by_domain("outlook.com").oauth2_required
    assert [p.key for p in table.providers() if p.server_saves_sent] == [
        "gmail", "outlook", "microsoft365"]
    assert table.saves_sent_for_host("smtp.gmail.com") and table.saves_sent_for_host("smtp.office365.com")
    assert not table.saves_sent_for_host("smtp.fastmail.com")
    seen: dict[str, str] = {}
    for p in table.providers():
        assert {s.protocol for s in p.servers} >= {"imap", "smtp"}, p.key
        for d in p.domains:
            assert d not in seen, f"{d} in {p.key} and {seen[d]}"
            seen[d] = p.key


def test_every_table_domain_in_process_without_sockets(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kw: object) -> None:
        attempts.append(args)
        raise OSError("networking unavailable (test)")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "sendto", refuse)
    monkeypatch.setenv("MAILCLI_DISCOVERY_DNS", "127.0.0.1:9")
    config = Path(os.environ["MAILCLI_CONFIG"])
    for i, domain in enumerate(d for p in table.providers() for d in p.domains):
        r = invoke(*_flags(domain, f"a{i}"))
        assert r.exit_code == 0, (domain, r)
        assert "found by the built-in provider table" in r.stderr
        _check(config, f"a{i}", domain)
    assert attempts == []


def test_one_address_per_provider_in_a_namespace_without_network(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is needed"
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True)
    assert probe.returncode == 0, probe.stderr   # user namespaces must be allowed here
    config = tmp_path / "offline.toml"
    env = dict(os.environ, MAILCLI_CONFIG=str(config), MAILCLI_DATA=str(tmp_path / "d"))
    env.pop("MAILCLI_DISCOVERY_DNS", None)
    for i, provider in enumerate(table.providers()):
        domain = provider.domains[0] if provider.domains else None
        if domain is None:
            continue   # reached through its MX hosts only (Microsoft 365)
        proc = subprocess.run([unshare, "-rn", sys.executable, "-m", "mailcli",
                               *_flags(domain, f"p{i}")],
                              capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, (domain, proc.stderr)
        _check(config, f"p{i}", domain)
    gmx = tomllib.loads(config.read_text())["accounts"]
    assert any(a["email"] == "me@gmx.de" for a in gmx.values())
