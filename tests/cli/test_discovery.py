"""account add --email: server discovery against local servers only (tests/servers/
discovery.py: HTTPS for autoconfig files and the ISPDB, DNS for SRV/MX/A, a TLS greeter
for probes), reached through the MAILCLI_DISCOVERY_* test hooks. Each source of the
order (autoconfig, ISPDB, SRV, MX, probes) proves itself; plaintext is never proposed;
an unknown domain fails inside the budget, one line, nothing written."""
from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line_error
from tests.helpers import invoke
from tests.servers import discovery
from tests.servers.discovery import Lab

ADD = ["account", "add", "--yes", "--no-test", "--password-env", "MAILPW", "--display-name", "Me"]


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    lab = discovery.start(tmp_path)
    for key, value in lab.env().items():
        monkeypatch.setenv(key, value)
    yield lab
    discovery.stop(lab)


def autoconfig_xml(domain: str, incoming: list[tuple[str, str, int, str]],
                   smtp: tuple[str, int, str] | None = None, username: str = "%EMAILADDRESS%",
                   auth: str = "password-cleartext") -> bytes:
    parts = [f'<?xml version="1.0"?>\n<clientConfig version="1.1"><emailProvider id="{domain}">',
             f"<domain>{domain}</domain><displayName>{domain} mail</displayName>"]
    for proto, host, port, sock in incoming:
        parts.append(f'<incomingServer type="{proto}"><hostname>{host}</hostname><port>{port}'
                     f'</port><socketType>{sock}</socketType><username>{username}</username>'
                     f'<authentication>{auth}</authentication></incomingServer>')
    if smtp:
        host, port, sock = smtp
        parts.append(f'<outgoingServer type="smtp"><hostname>{host}</hostname><port>{port}'
                     f'</port><socketType>{sock}</socketType><username>%EMAILADDRESS%</username>'
                     f'<authentication>{auth}</authentication></outgoingServer>')
    parts.append("</emailProvider></clientConfig>\n")
    return "".join(parts).encode()


def _config() -> Path:
    return Path(os.environ["MAILCLI_CONFIG"])


def _account(name: str) -> dict[str, object]:
    return tomllib.loads(_config().read_text())["accounts"][name]


def test_autoconfig_file_of_the_domain(lab: Lab) -> None:
    lab.https.files[("autoconfig.auto.test", "/mail/config-v1.1.xml")] = autoconfig_xml(
        "auto.test", [("imap", "plain.auto.test", 143, "plain"),     # never proposed
                      ("imap", "imap.auto.test", 993, "SSL"),
                      ("pop3", "pop.auto.test", 995, "SSL")],
        smtp=("smtp.auto.test", 587, "STARTTLS"), username="%EMAILLOCALPART%")
    r = invoke(*ADD, "--email", "me@auto.test")
    assert r.exit_code == 0, r
    assert "found by the domain's autoconfig file (https://autoconfig.auto.test:" in r.stderr
    assert "not proposed (plaintext" in r.stderr and "plain.auto.test:143" in r.stderr
    acc = _account("auto")
    assert acc["protocol"] == "imap" and acc["host"] == "imap.auto.test"
    assert acc["security"] == "tls" and "port" not in acc and acc["username"] == "me"
    assert acc["smtp"] == {"host": "smtp.auto.test", "port": 587, "security": "starttls",
                           "username": "me@auto.test"}
    assert ("autoconfig.auto.test", "/mail/config-v1.1.xml") in lab.https.requests


def test_well_known_autoconfig_and_protocol_choice(lab: Lab) -> None:
    lab.https.files[("wellknown.test", "/.well-known/autoconfig/mail/config-v1.1.xml")] = \
        autoconfig_xml("wellknown.test", [("imap", "imap.wellknown.test", 993, "SSL"),
                                          ("pop3", "pop.wellknown.test", 995, "SSL")])
    r = invoke(*ADD, "--email", "me@wellknown.test", "--protocol", "pop3",
               "--delete-after-download", "--name", "w")
    assert r.exit_code == 0, r
    assert "/.well-known/autoconfig/mail/config-v1.1.xml" in r.stderr
    acc = _account("w")
    assert acc["protocol"] == "pop3" and acc["host"] == "pop.wellknown.test"


def test_ispdb_when_the_domain_has_no_file(lab: Lab) -> None:
    lab.https.files[("127.0.0.1", "/v1.1/ispdb.test")] = autoconfig_xml(
        "ispdb.test", [("imap", "imap.ispdb.test", 993, "SSL")],
        smtp=("smtp.ispdb.test", 465, "SSL"))
    r = invoke(*ADD, "--email", "me@ispdb.test")
    assert r.exit_code == 0, r
    assert "found by the Thunderbird ISPDB (https://127.0.0.1:" in r.stderr
    assert "autoconfig: nothing" in r.stderr   # tried first, and said so
    acc = _account("ispdb")
    assert acc["host"] == "imap.ispdb.test"
    assert acc["smtp"] == {"host": "smtp.ispdb.test", "port": 465, "security": "tls"}
    assert "server_saves_sent" not in acc       # an unknown provider: found out at the first send


def test_srv_records(lab: Lab) -> None:
    lab.dns.records[("_imaps._tcp.srv.test", "SRV")] = ["0 1 9993 imap.srv.test."]
    lab.dns.records[("_imap._tcp.srv.test", "SRV")] = ["0 0 0 ."]   # RFC 6186: not offered
    lab.dns.records[("_submission._tcp.srv.test", "SRV")] = ["10 1 587 smtp.srv.test."]
    r = invoke(*ADD, "--email", "me@srv.test")
    assert r.exit_code == 0, r
    assert "found by DNS SRV records of srv.test (RFC 6186)" in r.stderr
    acc = _account("srv")
    assert (acc["host"], acc["port"], acc["security"]) == ("imap.srv.test", 9993, "tls")
    assert acc["smtp"] == {"host": "smtp.srv.test", "port": 587, "security": "starttls"}


def test_mx_host_domain_in_the_ispdb(lab: Lab) -> None:
    lab.dns.records[("mx.test", "MX")] = ["20 mx2.in.mailhost.test.", "10 mx1.in.mailhost.test."]
    lab.https.files[("127.0.0.1", "/v1.1/mailhost.test")] = autoconfig_xml(
        "mailhost.test", [("imap", "imap.mailhost.test", 993, "SSL")])
    r = invoke(*ADD, "--email", "me@mx.test")
    assert r.exit_code == 0, r
    assert ("found by the MX host mx1.in.mailhost.test -> the Thunderbird ISPDB entry of "
            "mailhost.test") in r.stderr
    assert _account("mx")["host"] == "imap.mailhost.test"


def test_mx_host_of_a_table_provider_proposes_its_oauth2(lab: Lab) -> None:
    from mailcli.discovery.search import discover

    lab.dns.records[("mx.test", "MX")] = ["1 aspmx.l.google.com."]
    found = discover("me@mx.test")
    assert found.source == "the MX host aspmx.l.google.com -> the built-in provider table (Gmail)"
    assert found.oauth2 == "google" and found.incoming().host == "imap.gmail.com"
    assert found.server_saves_sent        # Google Workspace files sent mail itself too
    lab.dns.records[("mx.test", "MX")] = ["1 mx-tenant.mail.protection.outlook.com."]
    found = discover("me@mx.test")
    assert (found.provider, found.oauth2, found.oauth2_required) == ("Microsoft 365", "microsoft", True)
    assert found.smtp().host == "smtp.office365.com" and found.server_saves_sent


def test_probes_verify_tls(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    port = lab.greeter.port
    monkeypatch.setenv("MAILCLI_DISCOVERY_PROBE_PORTS",
                       f"imap={port},pop3={lab.closed_port},smtp={lab.closed_port},"
                       f"submission={lab.closed_port}")
    r = invoke(*ADD, "--email", "me@probe.test")
    assert r.exit_code == 0, r
    assert "found by probing the usual host names of probe.test (TLS verified)" in r.stderr
    acc = _account("probe")
    assert (acc["host"], acc["port"], acc["security"]) == ("imap.probe.test", port, "tls")
    # the same greeter under a name its certificate does not carry: refused
    lab.dns.records[("imap.unlisted.test", "A")] = ["127.0.0.1"]
    r = invoke(*ADD, "--email", "me@unlisted.test", "--name", "u")
    assert_one_line_error(r, 2, "no mail servers found for unlisted.test")
    assert lab.greeter.connections >= 2


def test_unknown_domain_fails_in_time_and_writes_nothing(lab: Lab) -> None:
    start = time.monotonic()
    r = invoke(*ADD, "--email", "me@nothing.test")
    assert time.monotonic() - start < 20
    assert_one_line_error(r, 2, "no mail servers found for nothing.test within 20 s")
    assert "--host" in r.stderr
    assert not _config().exists()


def test_budget_holds_when_nothing_answers(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    lab.dns.silent = True   # a name server that never answers: every lookup waits
    monkeypatch.setenv("MAILCLI_DISCOVERY_BUDGET", "3")
    start = time.monotonic()
    r = invoke(*ADD, "--email", "me@nothing.test")
    took = time.monotonic() - start
    assert_one_line_error(r, 2, "no mail servers found for nothing.test within 3 s")
    assert took < 3 + 1.5, took
    assert lab.dns.queries   # it did ask
    assert not _config().exists()


def test_no_terminal_and_no_yes_asks_nothing(lab: Lab) -> None:
    r = invoke("account", "add", "--email", "me@auto.test", "--password-env", "MAILPW")
    assert_one_line_error(r, 2, "needs a terminal to confirm them, or --yes")
    assert lab.dns.queries == [] and lab.https.requests == []   # no lookup at all
    assert not _config().exists()


def test_no_discover_asks_instead(lab: Lab) -> None:
    r = invoke("account", "add", "--email", "me@auto.test", "--no-discover", "--no-test",
               "--name", "n", "--protocol", "imap", "--host", "imap.x.test", "--security", "tls",
               "--username", "me", "--password-env", "MAILPW", "--display-name", "")
    assert r.exit_code == 0, r
    assert lab.dns.queries == [] and _account("n")["host"] == "imap.x.test"
