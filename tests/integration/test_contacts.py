"""The address book (issue 19) through real `mailcli` processes: the cache filled by a real
fetch from Dovecot (INBOX and Sent), `contacts [QUERY] [--json]` ranked with the Sent mail
counting most, address_book_command merged, `compose --to ali` resolved (one match) or
refused with the candidates (exit 2), and `index rebuild` restoring the table."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from mailcli.model import Contact
from mailcli.store.contacts import match_tier, rank
from tests.helpers import run
from tests.integration.test_send import smtp_extra
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = [pytest.mark.dovecot, pytest.mark.smtp]

NOW = datetime.now(timezone.utc)


def mail(sender: str, to: str, days_ago: float, n: int, cc: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = f"message {n}"
    msg["Date"] = format_datetime(NOW - timedelta(days=days_ago))
    msg["Message-ID"] = f"<m{n}@example.org>"
    msg.set_content("hello\n")
    return msg.as_bytes()


@pytest.fixture
def book(write_config, dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    script = tmp_path / "abook.sh"
    script.write_text("#!/bin/sh\nprintf 'searching for everything\\n'\n"
                      "printf 'alfred@ext.example\\tAlfred External\\n'\n"
                      "printf 'alice@example.org\\tAlice From Khard\\n'\n")
    script.chmod(0o700)
    spec = write_config(server=dovecot, extra=smtp_extra(smtp_server),
                        general=f'[general]\naddress_book_command = "{script}"')
    me = f"Test {spec.user} <{spec.user}@example.test>"
    inbox = [mail("Alina Busy <alina@lists.example>", me, 1 + i, i) for i in range(5)]
    inbox.append(mail("Alice Liddell <alice@example.org>", me, 3, 10,
                      cc="Bert <bert@example.org>"))
    inbox.append(mail("Alina Busy <alina@lists.example>", me, 1, 0))  # same Message-ID again
    sent = [mail(me, "Alice Liddell <alice@example.org>", 2 + i, 20 + i) for i in range(2)]
    sent.append(mail(me, "Alistair Old <alistair@example.org>", 3650, 30))
    for raw in inbox:
        dovecot.deliver(spec.user, raw)
    for raw in sent:
        dovecot.deliver(spec.user, raw, folder="Sent")
    r = run("fetch")
    assert r.exit_code == 0, r.stderr
    return spec


def contacts_json(*args: str) -> list[dict]:
    r = run("contacts", *args, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_contacts_ranked_by_writing_then_seeing_merged_and_restored_by_rebuild(
        book, smtp_server: SmtpServer) -> None:
    everyone = contacts_json()
    assert all(set(c) >= {"name", "address", "count", "last_seen"} for c in everyone)
    by = {c["address"]: c for c in everyone}
    # the user's own address (To of every INBOX message, From of Sent) is never a contact
    assert f"{book.user}@example.test" not in by
    # Sent counts most: two letters to Alice beat five from Alina (one counted once)
    assert [c["address"] for c in contacts_json("ali")] == [
        "alice@example.org", "alina@lists.example", "alistair@example.org"]
    assert by["alice@example.org"]["count"] == 3 and by["alice@example.org"]["written"] == 2
    assert by["alice@example.org"]["name"] == "Alice Liddell"   # the mail's name wins
    assert by["alina@lists.example"]["count"] == 5
    assert by["alfred@ext.example"] == {"name": "Alfred External", "address": "alfred@ext.example",
                                        "count": 0, "written": 0, "last_seen": None}
    assert datetime.fromisoformat(by["alistair@example.org"]["last_seen"]) < NOW - timedelta(days=3000)
    assert "bert@example.org" in by
    # name words and fuzzy prefixes
    assert [c["address"] for c in contacts_json("liddell")] == ["alice@example.org"]
    assert [c["address"] for c in contacts_json("lists")] == ["alina@lists.example"]
    # plain text: one tab-separated line per contact
    r = run("contacts", "alfred")
    assert r.exit_code == 0 and r.stdout == "alfred@ext.example\tAlfred External\t0\t-\n"
    # index rebuild restores the table exactly
    r = run("index", "rebuild")
    assert r.exit_code == 0, r.stderr
    assert contacts_json() == everyone


def test_compose_to_a_fragment_resolves_one_contact_or_lists_the_candidates(
        book, smtp_server: SmtpServer) -> None:
    n = len(smtp_server.messages)
    r = run("compose", "--to", "ali", "--subject", "s", "--body-file", "-", input=b"x\n")
    assert r.exit_code == 2 and len(smtp_server.messages) == n
    assert "'ali' matches 3 contacts" in r.stderr and "Alice Liddell <alice@example.org>" in r.stderr
    r = run("compose", "--to", "liddell, bert@example.org", "--cc", "alfred", "--subject", "s",
            "--body-file", "-", input=b"x\n")
    assert r.exit_code == 0, r.stderr
    got = smtp_server.messages[n]
    assert sorted(got.rcpt_tos) == ["alfred@ext.example", "alice@example.org", "bert@example.org"]
    assert b"To: Alice Liddell <alice@example.org>, bert@example.org" in got.data
    r = run("compose", "--to", "nobody-like-this", "--body-file", "-", input=b"x\n")
    assert r.exit_code == 2 and "no contact matches 'nobody-like-this'" in r.stderr


def test_ranking_and_matching_rules() -> None:
    now = NOW.timestamp()
    old = Contact("Old Friend", "old@example.org", written=5, last_seen=NOW - timedelta(days=3650))
    recent = Contact("Recent", "recent@example.org", seen=3, last_seen=NOW - timedelta(days=1))
    writer = Contact("Writer", "w@example.org", written=1, last_seen=NOW - timedelta(days=1))
    assert [c.address for _t, c in rank([old, recent, writer], "", now)] == [
        "w@example.org", "recent@example.org", "old@example.org"]
    c = Contact("Jürgen Müller", "j.mueller@example.de")
    assert match_tier(c, "mü") == 0 and match_tier(c, "muel") == 0 and match_tier(c, "EXAMPLE") == 0
    assert match_tier(c, "rgen") == 1 and match_tier(c, "jmlr") == 2 and match_tier(c, "zz") is None
