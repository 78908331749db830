"""Sending end to end, through the CLI, against real servers: aiosmtpd (STARTTLS + AUTH)
and the Dovecot fixture. Issue 7's "Done when": a message arrives intact and its Sent
copy is on the server and in the cache; SMTP down -> Outbox -> sent exactly once; a kill
between the SMTP send and the Sent copy; APPEND failures; reply/forward; the editor."""
from __future__ import annotations

import email
import email.policy
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcli.model import Flag
from mailcli.store import Store
from tests.helpers import invoke, run
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = [pytest.mark.dovecot, pytest.mark.smtp]


def smtp_extra(server: SmtpServer, name: str = "work") -> str:
    return (f'\n[accounts.{name}.smtp]\nhost = "127.0.0.1"\nport = {server.port}\n'
            f'security = "starttls"\ntls_ca_file = "{server.ca_file}"\nusername = "sender"\n'
            f'password_env = "SMTP_PW"\n')


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def text_of(part: email.message.EmailMessage) -> str:
    """Decoded text (base64 text is in canonical CRLF form on the wire: RFC 2045)."""
    return str(part.get_content()).replace("\r\n", "\n")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data: Path) -> Iterator[Store]:
    s = Store(data)
    yield s
    s.close()


@pytest.fixture
def own_smtp(dovecot: Dovecot) -> Iterator[SmtpServer]:
    """A private SMTP server that a test may stop and start."""
    server = SmtpServer(dovecot.ca_file, dovecot.root / "key.pem")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def work(write_config, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    return write_config(extra=smtp_extra(smtp_server))


def compose(*args: str, body: str = "Hello\n", input_: str | None = None) -> tuple[int, dict, str]:
    r = invoke("compose", *args, "--body-file", "-", "--json", input=body if input_ is None else input_)
    doc = json.loads(r.stdout) if r.stdout.strip() else {}
    return r.exit_code, doc, r.stderr


def seed_original(store: Store, account: str, user: str) -> int:
    raw = (f"From: Alice <alice@example.org>\r\nTo: {user}@example.test, Bob <bob@example.org>\r\n"
           f"Cc: carol@example.org, {user.upper()}@EXAMPLE.TEST\r\nSubject: Plans for Köln\r\n"
           "Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <orig-1@example.org>\r\n"
           "References: <orig-0@example.org>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Line one\r\nZeile zwei – ü\r\n").encode()
    return store.deliver(account, "INBOX", raw, flags={Flag.SEEN}, uid=1)


# ------------------------------------------------------------------------ happy path
@pytest.mark.parametrize("mail_server", ["dovecot", "cyrus", "courier"], indirect=True)
def test_compose_arrives_intact_with_sent_copy_on_server_and_in_cache(
        work, smtp_server: SmtpServer, mail_server: Dovecot, store: Store, tmp_path: Path) -> None:
    dovecot = mail_server
    png = bytes(range(256)) * 40
    (tmp_path / "chart.png").write_bytes(png)
    (tmp_path / "Übersicht.txt").write_text("Zahlen: 1, 2, 3 – fünf\n", encoding="utf-8")
    n = len(smtp_server.messages)
    code, doc, err = compose("--to", "Jürgen Müller <juergen@example.test>", "--cc", "c@example.test",
                             "--bcc", "hidden@example.test", "--subject", "Grüße aus Köln ☕",
                             "--attach", str(tmp_path / "chart.png"),
                             "--attach", str(tmp_path / "Übersicht.txt"),
                             body="Hallo Jürgen,\nschöne Grüße – ☕\n")
    assert code == 0, err
    assert doc["status"] == "sent" and doc["sent_copy"] == "appended" and doc["sent_folder"] == dovecot.local_name("Sent")
    got = smtp_server.messages[n:]
    assert len(got) == 1
    rcv = got[0]
    assert rcv.mail_from == f"{work.user}@example.test"
    assert sorted(rcv.rcpt_tos) == ["c@example.test", "hidden@example.test", "juergen@example.test"]
    assert max(rcv.data) < 128  # 7-bit clean on the wire
    msg = parse(rcv.data)
    assert msg["Subject"] == "Grüße aus Köln ☕"
    assert msg["To"].addresses[0].display_name == "Jürgen Müller"
    assert msg["From"].addresses[0].display_name == f"Test {work.user}"
    assert "Bcc" not in msg and msg["Message-ID"] == doc["message_id"]
    assert text_of(msg.get_body(("plain",))) == "Hallo Jürgen,\nschöne Grüße – ☕\n"
    atts = {p.get_filename(): p for p in msg.iter_attachments()}
    assert atts["chart.png"].get_content_type() == "image/png"
    assert atts["chart.png"].get_content() == png
    assert text_of(atts["Übersicht.txt"]) == "Zahlen: 1, 2, 3 – fünf\n"
    # the Sent copy on the server: same message, \Seen, Bcc recorded for the sender
    sent = dovecot.messages(work.user, "Sent")
    assert len(sent) == 1
    (uid, copy), = sent.items()
    assert parse(copy)["Message-ID"] == doc["message_id"] and "hidden@example.test" in parse(copy)["Bcc"]
    assert copy.endswith(rcv.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert "\\Seen" in dovecot.flags(work.user, "Sent")[uid]
    # ... and in the local cache, with its server UID; the Outbox is empty again
    cached = store.list_envelopes(work.name, dovecot.local_name("Sent"))
    assert [(e.uid, e.message_id, Flag.SEEN in e.flags) for e in cached] == [(uid, doc["message_id"], True)]
    assert doc["sent_id"] == cached[0].id
    assert store.read_raw(cached[0].id) == copy
    assert store.count(work.name, "Outbox") == 0
    r = invoke("send", "--list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


def test_round_trip_received_mail_is_fetched_into_the_recipients_inbox(
        write_config, smtp_server: SmtpServer, dovecot: Dovecot, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    work = write_config(extra=smtp_extra(smtp_server))
    home = write_config(name="home")
    n = len(smtp_server.messages)
    code, doc, err = compose("--to", f"{home.user}@example.test", "--subject", "Round trip ✓",
                             body="über alles\n")
    assert code == 0, err
    rcv = smtp_server.messages[n]
    dovecot.deliver(home.user, rcv.data)  # what the SMTP server accepted, delivered
    r = invoke("fetch", "home")
    assert r.exit_code == 0, r.stderr
    inbox = store.list_envelopes(home.name, "INBOX")
    assert [(e.subject, e.message_id) for e in inbox] == [("Round trip ✓", doc["message_id"])]
    assert work.user in inbox[0].from_


def test_pop3_account_keeps_sent_copy_locally(write_config, smtp_server: SmtpServer,
                                              store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(protocol="pop3", name="home", extra=smtp_extra(smtp_server, "home"))
    code, doc, err = compose("--to", "x@example.test", "--subject", "pop sender")
    assert code == 0, err
    assert doc["sent_copy"] == "local" and doc["sent_folder"] == "Sent"
    (env,) = store.list_envelopes(spec.name, "Sent")
    assert env.message_id == doc["message_id"] and env.uid is None and Flag.SEEN in env.flags
    assert store.journal.pending(spec.name) == []


# ------------------------------------------------------------------------ outbox
@pytest.mark.parametrize("mail_server", ["dovecot", "cyrus", "courier"], indirect=True)
def test_smtp_down_message_waits_in_outbox_then_sent_exactly_once(
        write_config, own_smtp: SmtpServer, mail_server: Dovecot, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dovecot = mail_server
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=smtp_extra(own_smtp))
    own_smtp.stop()
    code, doc, err = compose("--to", "r@example.test", "--subject", "offline")
    assert code == 75 and doc["status"] == "queued", err
    assert "cannot reach the SMTP server" in err and "mailcli send" in err
    assert store.count(spec.name, "Outbox") == 1
    r = invoke("send", "--list", "--json")
    (row,) = json.loads(r.stdout)
    assert row["state"] == "queued" and row["message_id"] == doc["message_id"]
    r = invoke("send", "--json")  # still down
    assert r.exit_code == 75 and json.loads(r.stdout)[0]["status"] == "queued"
    own_smtp.start()
    r = invoke("send", "--json")
    assert r.exit_code == 0, r.stderr
    (res,) = json.loads(r.stdout)
    assert res["status"] == "sent" and res["sent_copy"] == "appended"
    assert [parse(m.data)["Message-ID"] for m in own_smtp.messages] == [doc["message_id"]]
    for _ in range(2):  # nothing left: more runs send nothing
        r = invoke("send", "--json")
        assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert len(own_smtp.messages) == 1
    assert store.count(spec.name, "Outbox") == 0
    assert len(dovecot.messages(spec.user, "Sent")) == 1


def test_fetch_flushes_the_outbox(write_config, own_smtp: SmtpServer, store: Store,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    write_config(extra=smtp_extra(own_smtp))
    own_smtp.stop()
    code, doc, _ = compose("--to", "r@example.test", "--subject", "via fetch")
    assert code == 75
    own_smtp.start()
    r = invoke("fetch")
    assert r.exit_code == 0, r.stderr
    assert [parse(m.data)["Message-ID"] for m in own_smtp.messages] == [doc["message_id"]]


@pytest.mark.parametrize("mail_server,then", [("dovecot", "send"), ("dovecot", "rebuild"),
                                              ("cyrus", "send"), ("courier", "send")],
                         indirect=["mail_server"])
def test_kill_between_smtp_and_sent_copy_does_not_resend_and_makes_the_copy(
        work, smtp_server: SmtpServer, mail_server: Dovecot, data: Path, then: str) -> None:
    """`rebuild`: the index is moved away and rebuilt first (the state "sent" comes
    back from the outbox record): still not sent twice."""
    dovecot = mail_server
    n = len(smtp_server.messages)
    r = run("compose", "--to", "k@example.test", "--subject", "killed after SMTP",
            "--body-file", "-", input=b"body\n", env={"MAILCLI_TEST_KILL_AT": "sent:1"})
    assert r.exit_code == -9, r.stderr
    assert len(smtp_server.messages) == n + 1
    assert dovecot.messages(work.user, "Sent") == {}
    if then == "rebuild":
        assert lose_index(data, "moved")["outbox_restored"] == 1
    r = invoke("send", "--json")
    assert r.exit_code == 0, r.stderr
    (res,) = json.loads(r.stdout)
    assert res["status"] == "sent" and res["sent_copy"] == "appended"
    assert len(smtp_server.messages) == n + 1  # not sent twice
    (copy,) = dovecot.messages(work.user, "Sent").values()
    assert parse(copy)["Subject"] == "killed after SMTP"
    with Store(data) as s:
        assert s.count(work.name, "Outbox") == 0 and s.count(work.name, dovecot.local_name("Sent")) == 1
    assert records_of(data) == []  # nothing owed: the outbox record is gone


def test_kill_during_smtp_holds_the_message_instead_of_resending(
        work, smtp_server: SmtpServer, data: Path) -> None:
    n = len(smtp_server.messages)
    r = run("compose", "--to", "k@example.test", "--subject", "killed in SMTP",
            "--body-file", "-", input=b"body\n", env={"MAILCLI_TEST_KILL_AT": "smtp:1"})
    assert r.exit_code == -9
    assert len(smtp_server.messages) == n + 1
    r = invoke("send", "--json")
    assert r.exit_code == 1
    (res,) = json.loads(r.stdout)
    assert res["status"] == "uncertain"
    assert "may already have been delivered" in r.stderr and "--resend-uncertain" in r.stderr
    assert len(smtp_server.messages) == n + 1  # held, not re-sent
    with Store(data) as s:
        (env,) = s.list_envelopes(work.name, "Outbox")
        assert Flag.FLAGGED in env.flags  # flagged for the user
    r = invoke("fetch")  # fetch does not re-send it either
    assert len(smtp_server.messages) == n + 1
    r = invoke("send", "--resend-uncertain", "--json")  # the user decides
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["status"] == "sent"
    assert len(smtp_server.messages) == n + 2


# ------------------------------------------------------------------------ APPEND failures
def imap_down(write_config, smtp_server: SmtpServer, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> tuple:
    """Configure an account whose IMAP port has nothing listening (SMTP up); returns its
    spec and the good config text to put back."""
    from tests.servers.dovecot import free_port

    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=smtp_extra(smtp_server))
    good = (tmp_path / "config.toml").read_text()
    (tmp_path / "config.toml").write_text(good.replace(f"port = {spec.port}\n", f"port = {free_port()}\n", 1))
    return spec, good


def test_failed_append_is_queued_send_counts_and_retry_makes_the_copy(
        write_config, smtp_server: SmtpServer, dovecot: Dovecot, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec, good = imap_down(write_config, smtp_server, tmp_path, monkeypatch)
    n = len(smtp_server.messages)
    code, doc, err = compose("--to", "q@example.test", "--subject", "copy later")
    assert code == 0, err
    assert doc["status"] == "sent" and doc["sent_copy"] == "queued"
    assert "Sent copy" in err
    assert len(smtp_server.messages) == n + 1
    (local,) = store.list_envelopes(spec.name, "Sent")
    assert local.uid is None and local.id == doc["sent_id"]
    (action,) = store.journal.pending(spec.name)
    assert action.kind.value == "append" and action.payload["id"] == local.id
    # IMAP back: `mailcli send` uploads the queued copy (and sends nothing again)
    (tmp_path / "config.toml").write_text(good)
    r = invoke("send", "--json")
    assert r.exit_code == 0, r.stderr
    assert [x["status"] for x in json.loads(r.stdout)] == ["copy_uploaded"]
    assert len(smtp_server.messages) == n + 1
    (uid, copy), = dovecot.messages(spec.user, "Sent").items()
    assert parse(copy)["Message-ID"] == doc["message_id"]
    assert store.get(local.id).uid == uid
    assert store.journal.pending(spec.name) == []
    r = invoke("send", "--json")
    assert json.loads(r.stdout) == [] and len(dovecot.messages(spec.user, "Sent")) == 1


@pytest.fixture(scope="module")
def tiny_dovecot() -> Iterator[Dovecot]:
    server = Dovecot.start(quota_mb=1)
    yield server
    server.stop()


def test_append_over_quota_is_queued_and_the_send_still_counts(
        write_config, smtp_server: SmtpServer, tiny_dovecot: Dovecot, store: Store,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=smtp_extra(smtp_server), server=tiny_dovecot)
    (tmp_path / "big.bin").write_bytes(b"\x00\x01" * 700_000)  # ~1.9 MB encoded > 1 MB quota
    n = len(smtp_server.messages)
    code, doc, err = compose("--to", "q@example.test", "--subject", "too big for Sent",
                             "--attach", str(tmp_path / "big.bin"))
    assert code == 0, err
    assert doc["status"] == "sent" and doc["sent_copy"] == "queued"
    assert "quota" in err.lower()
    assert len(smtp_server.messages) == n + 1
    assert tiny_dovecot.messages(spec.user, "Sent") == {}
    (action,) = store.journal.pending(spec.name)
    assert action.payload["sent_copy"] is True
    r = invoke("send", "--json")  # retried, still over quota: reported, nothing re-sent
    assert [x["status"] for x in json.loads(r.stdout)] == ["copy_queued"]
    assert r.exit_code == 1          # a queued upload still failing is not success
    assert "quota" in r.stderr.lower()
    assert len(smtp_server.messages) == n + 1


# ------------------------------------------------------------------------ reply / forward
def test_reply_all_through_the_cli(work, smtp_server: SmtpServer, store: Store) -> None:
    oid = seed_original(store, work.name, work.user)
    n = len(smtp_server.messages)
    r = invoke("reply", str(oid), "--all", "--body-file", "-", "--json", input="Sounds good.\n")
    assert r.exit_code == 0, r.stderr
    msg = parse(smtp_server.messages[n].data)
    assert [a.addr_spec for a in msg["To"].addresses] == ["alice@example.org"]
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["bob@example.org", "carol@example.org"]
    assert msg["Subject"] == "Re: Plans for Köln"
    assert msg["In-Reply-To"] == "<orig-1@example.org>"
    assert msg["References"] == "<orig-0@example.org> <orig-1@example.org>"
    body = text_of(msg.get_body(("plain",)))
    assert body.startswith("Sounds good.\n")
    assert "Alice <alice@example.org> wrote:" in body
    assert "> Line one\n> Zeile zwei – ü\n" in body
    assert sorted(smtp_server.messages[n].rcpt_tos) == ["alice@example.org", "bob@example.org",
                                                         "carol@example.org"]
    assert Flag.ANSWERED in store.get(oid).flags  # pushed by the next sync


def test_plain_reply_goes_to_the_sender_only(work, smtp_server: SmtpServer, store: Store) -> None:
    oid = seed_original(store, work.name, work.user)
    n = len(smtp_server.messages)
    r = invoke("reply", str(oid), "--body-file", "-", input="ok\n")
    assert r.exit_code == 0, r.stderr
    assert smtp_server.messages[n].rcpt_tos == ["alice@example.org"]
    assert "Cc" not in parse(smtp_server.messages[n].data)


def test_forward_inline_and_as_attachment(work, smtp_server: SmtpServer, store: Store) -> None:
    oid = seed_original(store, work.name, work.user)
    n = len(smtp_server.messages)
    r = invoke("forward", str(oid), "--to", "dave@example.org", "--body-file", "-", input="FYI\n")
    assert r.exit_code == 0, r.stderr
    msg = parse(smtp_server.messages[n].data)
    assert msg["Subject"] == "Fwd: Plans for Köln" and msg["To"] == "dave@example.org"
    body = text_of(msg.get_body(("plain",)))
    assert body.startswith("FYI\n") and "---------- Forwarded message ----------" in body
    assert "From: Alice <alice@example.org>" in body and "Zeile zwei – ü" in body
    r = invoke("forward", str(oid), "--attach-original", "--to", "dave@example.org",
               "--body-file", "-", input="see attached\n")
    assert r.exit_code == 0, r.stderr
    msg = parse(smtp_server.messages[n + 1].data)
    (att,) = list(msg.iter_attachments())
    assert att.get_content_type() == "message/rfc822"
    inner = att.get_content()
    assert inner["Message-ID"] == "<orig-1@example.org>" and inner["Subject"] == "Plans for Köln"
    assert "In-Reply-To" not in msg  # a forward does not thread under the original


def test_no_smtp_section_is_a_one_line_error(write_config, store: Store) -> None:
    write_config()  # no [smtp]
    r = invoke("compose", "--to", "x@example.test", "--body-file", "-", input="b\n")
    assert r.exit_code == 2 and r.stderr.startswith("mailcli: error: account 'work' has no SMTP")
    assert store.count("work", "Outbox") == 0


def test_usage_errors_queue_nothing(work, smtp_server: SmtpServer, store: Store) -> None:
    n = len(smtp_server.messages)
    r = invoke("compose", "--body-file", "-", input="b\n")
    assert r.exit_code == 2 and r.stderr.startswith("mailcli: error: no recipients")
    r = invoke("compose", "--to", "not an address", "--body-file", "-", input="b\n")
    assert r.exit_code == 2 and "not an email address" in r.stderr
    r = invoke("reply", "999", "--body-file", "-", input="b\n")
    assert r.exit_code == 4
    assert "Traceback" not in r.stderr
    assert store.count(work.name, "Outbox") == 0 and len(smtp_server.messages) == n


# ------------------------------------------------------------------------ the editor
EDITOR = r'''
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
head, _, body = text.partition("\n\n")
lines = []
for line in head.split("\n"):
    if line.startswith("To:"):
        line = "To: Zoë <zoe@example.test>,\n  yan@example.test"
    elif line.startswith("Subject:"):
        line = "Subject: Edited ✎"
    lines.append(line)
open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n\nWritten in the editor – ok\n" + body)
'''


def test_editor_flow_sends_what_was_edited(work, smtp_server: SmtpServer, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    n = len(smtp_server.messages)
    r = invoke("compose", "--json")
    assert r.exit_code == 0, r.stderr
    msg = parse(smtp_server.messages[n].data)
    assert msg["Subject"] == "Edited ✎"
    assert [a.addr_spec for a in msg["To"].addresses] == ["zoe@example.test", "yan@example.test"]
    assert msg["To"].addresses[0].display_name == "Zoë"
    assert text_of(msg.get_body(("plain",))).startswith("Written in the editor – ok\n")
    assert not list((tmp_path / "data" / "compose").iterdir())  # the temp file is gone


def test_unchanged_draft_is_refused_and_not_kept(work, smtp_server: SmtpServer, store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "true")
    monkeypatch.delenv("VISUAL", raising=False)
    n = len(smtp_server.messages)
    r = invoke("compose", "--to", "x@example.test", "--subject", "never sent")
    assert r.exit_code == 1
    assert "not sent: the draft was not changed" in r.stderr and "nothing was saved" in r.stderr
    assert len(smtp_server.messages) == n
    assert store.list_envelopes(work.name, "Drafts") == []
    assert store.journal.pending(work.name) == []


def test_failing_editor_keeps_the_draft(work, smtp_server: SmtpServer, store: Store,
                                        dovecot: Dovecot,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "false")
    monkeypatch.delenv("VISUAL", raising=False)
    n = len(smtp_server.messages)
    r = invoke("compose", "--to", "x@example.test", "--subject", "interrupted")
    assert r.exit_code == 1 and "editor exited with status 1" in r.stderr and "Drafts" in r.stderr
    assert len(smtp_server.messages) == n
    (d,) = store.list_envelopes(work.name, "Drafts")
    assert d.subject == "interrupted" and Flag.DRAFT in d.flags and d.uid is None
    (action,) = store.journal.pending(work.name)
    assert action.payload == {"folder": "Drafts", "id": d.id, "message_id": d.message_id,
                              "flags": ["draft", "seen"], "draft": True}
    r = invoke("fetch")  # the queued upload reaches the server's Drafts folder
    assert r.exit_code == 0, r.stderr
    ((uid, raw),) = dovecot.messages(work.user, "Drafts").items()
    assert parse(raw)["Subject"] == "interrupted"
    assert "\\Draft" in dovecot.flags(work.user, "Drafts")[uid]
    assert store.get(d.id).uid == uid and store.journal.pending(work.name) == []


def test_reply_answered_flag_reaches_the_server_and_sent_copy_is_not_duplicated_by_fetch(
        work, smtp_server: SmtpServer, dovecot: Dovecot, store: Store) -> None:
    orig = (f"From: alice@example.org\r\nTo: {work.user}@example.test\r\nSubject: ping\r\n"
            "Message-ID: <ping@example.org>\r\n\r\nping?\r\n").encode()
    dovecot.deliver(work.user, orig)
    assert invoke("fetch").exit_code == 0
    (env,) = store.list_envelopes(work.name, "INBOX")
    r = invoke("reply", str(env.id), "--body-file", "-", input="pong\n")
    assert r.exit_code == 0, r.stderr
    r = invoke("fetch")
    assert r.exit_code == 0, r.stderr
    assert "\\Answered" in dovecot.flags(work.user, "INBOX")[int(env.uid)]  # type: ignore[arg-type]
    assert len(dovecot.messages(work.user, "Sent")) == 1
    (sent,) = store.list_envelopes(work.name, "Sent")
    assert sent.subject == "Re: ping" and sent.in_reply_to in (None, "<ping@example.org>")
    assert invoke("fetch").exit_code == 0 and store.count(work.name, "Sent") == 1


# ------------------------------------------------------------------------ losing the index
def lose_index(data: Path, how: str) -> dict:
    """What the damaged-index hint says: `index rebuild` in place ("rebuild"), or move
    index.sqlite3 away and rebuild ("moved"), or just delete it ("deleted": the next
    `send` must cope). Returns the rebuild's JSON (or {})."""
    if how in ("moved", "deleted"):
        lost = data.parent / "lost-index"
        lost.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            p = data / f"index.sqlite3{suffix}"
            if p.exists():
                p.rename(lost / p.name)
    if how == "deleted":
        return {}
    r = invoke("index", "rebuild", "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def records_of(data: Path) -> list[Path]:
    d = data / "outbox" / "records"
    return sorted(d.glob("*.json")) if d.exists() else []


@pytest.mark.parametrize("how", ["rebuild", "moved", "deleted"])
def test_queued_mail_survives_an_index_rebuild(write_config, own_smtp: SmtpServer,
                                               dovecot: Dovecot, data: Path, how: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=smtp_extra(own_smtp))
    own_smtp.stop()
    code, doc, err = compose("--to", "Ann <a@example.test>", "--cc", "c@example.test",
                             "--bcc", "hidden@example.test", "--subject", f"survives {how}")
    assert code == 75 and doc["status"] == "queued", err
    (rec,) = records_of(data)  # the envelope lives in a private file too
    assert rec.stat().st_mode & 0o777 == 0o600 and rec.parent.stat().st_mode & 0o777 == 0o700
    assert "hidden@example.test" in rec.read_text()
    report = lose_index(data, how)
    if how == "moved":
        assert report["outbox_restored"] == 1
    elif how == "rebuild":
        assert report["outbox_restored"] == 0  # the rows were never lost
    own_smtp.start()
    r = invoke("send", "--json")
    assert r.exit_code == 0, r.stderr
    (res,) = json.loads(r.stdout)
    assert res["status"] == "sent" and res["sent_copy"] == "appended"
    (got,) = own_smtp.messages  # exactly once, to every envelope recipient
    assert sorted(got.rcpt_tos) == ["a@example.test", "c@example.test", "hidden@example.test"]
    assert b"hidden" not in got.data and "Bcc" not in parse(got.data)
    assert parse(got.data)["Message-ID"] == doc["message_id"]
    (copy,) = dovecot.messages(spec.user, "Sent").values()
    # the Sent copy is the same as without the rebuild: the sent bytes, plus the sender's
    # own record of the blind recipient (module doc of mailcli.send.outbox)
    assert copy.replace(b"\r\n", b"\n").endswith(got.data.replace(b"\r\n", b"\n"))
    assert parse(copy)["Bcc"] == "hidden@example.test"
    for _ in range(2):
        r = invoke("send", "--json")
        assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert len(own_smtp.messages) == 1 and len(dovecot.messages(spec.user, "Sent")) == 1
    assert records_of(data) == []
    with Store(data) as s:
        assert s.count(spec.name, "Outbox") == 0


@pytest.mark.parametrize("how", ["moved", "deleted"])
def test_uncertain_message_stays_held_after_an_index_rebuild(work, smtp_server: SmtpServer,
                                                             data: Path, how: str) -> None:
    n = len(smtp_server.messages)
    r = run("compose", "--to", "k@example.test", "--bcc", "b@example.test", "--subject",
            "killed in SMTP", "--body-file", "-", input=b"body\n",
            env={"MAILCLI_TEST_KILL_AT": "smtp:1"})
    assert r.exit_code == -9
    assert len(smtp_server.messages) == n + 1
    lose_index(data, how)
    for _ in range(2):
        r = invoke("send", "--json")
        assert r.exit_code == 1, r.stderr
        (res,) = json.loads(r.stdout)
        assert res["status"] == "uncertain" and "--resend-uncertain" in r.stderr
    assert invoke("fetch").exit_code in (0, 1)
    assert len(smtp_server.messages) == n + 1  # held, never re-sent
    lose_index(data, "moved")  # a second rebuild: still held
    assert invoke("send", "--json").exit_code == 1
    assert len(smtp_server.messages) == n + 1
    r = invoke("send", "--resend-uncertain", "--json")  # the user decides: envelope intact
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["status"] == "sent", r.stderr
    assert len(smtp_server.messages) == n + 2
    assert sorted(smtp_server.messages[-1].rcpt_tos) == ["b@example.test", "k@example.test"]


def test_sent_message_with_queued_copy_upload_is_not_resent_after_a_rebuild(
        write_config, smtp_server: SmtpServer, dovecot: Dovecot, data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec, good = imap_down(write_config, smtp_server, tmp_path, monkeypatch)
    n = len(smtp_server.messages)
    code, doc, err = compose("--to", "q@example.test", "--bcc", "h@example.test",
                             "--subject", "copy later")
    assert code == 0 and doc["status"] == "sent" and doc["sent_copy"] == "queued", err
    assert len(records_of(data)) == 1  # the upload is still owed
    assert lose_index(data, "moved")["outbox_restored"] == 1
    with Store(data) as s:
        (action,) = s.journal.pending(spec.name)  # the upload is journaled again
        assert action.payload["sent_copy"] is True and s.count(spec.name, "Outbox") == 0
    (tmp_path / "config.toml").write_text(good)
    r = invoke("send", "--json")
    assert r.exit_code == 0, r.stderr
    assert [x["status"] for x in json.loads(r.stdout)] == ["copy_uploaded"]
    assert len(smtp_server.messages) == n + 1  # never sent again
    (copy,) = dovecot.messages(spec.user, "Sent").values()
    assert parse(copy)["Message-ID"] == doc["message_id"]
    assert records_of(data) == []
    r = invoke("send", "--json")
    assert json.loads(r.stdout) == [] and len(dovecot.messages(spec.user, "Sent")) == 1
