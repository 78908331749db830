"""Daily use of compose (issue 20): an inline forward keeps the original's attachments,
the review step after the editor, drafts that keep every header and can be resumed.
Against the real SMTP fixture (aiosmtpd) and Dovecot; the review step through a real
`mailcli` process on a pseudo-terminal (`script -qec`)."""
from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailcli.model import Flag
from mailcli.store import Store
from tests.helpers import invoke
from tests.integration.test_send import data, smtp_extra, store  # noqa: F401 (fixtures)
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = [pytest.mark.dovecot, pytest.mark.smtp]

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8
LATIN = "Grüße aus Köln\n".encode("latin-1")


@pytest.fixture
def work(write_config, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    return write_config(extra=smtp_extra(smtp_server))


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def seed_with_attachments(store: Store, account: str) -> int:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "me@example.test"
    msg["Subject"] = "Report"
    msg["Message-ID"] = "<report-1@example.org>"
    msg.set_content("See the report.\n")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="report.pdf")
    msg.add_attachment(LATIN, maintype="text", subtype="plain", filename="notes.txt",
                       params={"charset": "iso-8859-1"})
    return store.deliver(account, "INBOX", msg.as_bytes(), flags={Flag.SEEN}, uid=1)


# ------------------------------------------------------------------------ forwards
def test_inline_forward_delivers_the_originals_attachments(work, smtp_server: SmtpServer,
                                                           store: Store) -> None:
    oid = seed_with_attachments(store, work.name)
    n = len(smtp_server.messages)
    r = invoke("forward", str(oid), "--to", "dave@example.org", "--body-file", "-", input="FYI\n")
    assert r.exit_code == 0, r.stderr
    msg = parse(smtp_server.messages[n].data)
    body = str(msg.get_body(("plain",)).get_content())
    assert "See the report." in body and body.startswith("FYI")
    atts = {p.get_filename(): p for p in msg.iter_attachments()}
    assert sorted(atts) == ["notes.txt", "report.pdf"]
    assert atts["report.pdf"].get_content_type() == "application/pdf"
    assert atts["report.pdf"].get_payload(decode=True) == PDF
    assert atts["notes.txt"].get_payload(decode=True) == LATIN
    assert atts["notes.txt"].get_content_charset() == "iso-8859-1"
    # --no-attachments drops them
    r = invoke("forward", str(oid), "--to", "dave@example.org", "--no-attachments",
               "--body-file", "-", input="FYI\n")
    assert r.exit_code == 0, r.stderr
    assert list(parse(smtp_server.messages[n + 1].data).iter_attachments()) == []


def test_forward_draft_lists_the_carried_attachments_and_deleting_a_line_drops_it(
        work, smtp_server: SmtpServer, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    oid = seed_with_attachments(store, work.name)
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "p = sys.argv[1]\n"
        "text = open(p, encoding='utf-8').read()\n"
        f"open({str(seen)!r}, 'w', encoding='utf-8').write(text)\n"
        "lines = [l for l in text.split('\\n') if not l.startswith('Attached: #2')]\n"
        "text = '\\n'.join(lines).replace('To: ', 'To: dave@example.org', 1)\n"
        "open(p, 'w', encoding='utf-8').write(text.replace('\\n\\n', '\\n\\nHave a look\\n', 1))\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    n = len(smtp_server.messages)
    r = invoke("forward", str(oid))
    assert r.exit_code == 0, r.stderr
    shown = seen.read_text(encoding="utf-8")
    assert "Attached: #1 report.pdf (application/pdf, 2.0 KB)" in shown
    assert "Attached: #2 notes.txt (text/plain" in shown
    msg = parse(smtp_server.messages[n].data)
    assert [p.get_filename() for p in msg.iter_attachments()] == ["report.pdf"]
