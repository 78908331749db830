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


# ------------------------------------------------------------------------ the review step
def editor_script(tmp_path: Path, body: str = "Written in the editor\n") -> str:
    """An $EDITOR that puts `body` above what the draft had."""
    import sys

    script = tmp_path / "editor.py"
    script.write_text("import sys\n"
                      "p = sys.argv[1]\n"
                      "head, _, body = open(p, encoding='utf-8').read().partition('\\n\\n')\n"
                      f"open(p, 'w', encoding='utf-8').write(head + '\\n\\n' + {body!r} + body)\n")
    return f"{sys.executable} {script}"


def on_terminal(args: list[str], answers: list[tuple[str, str]], timeout: float = 60) -> tuple[int, str]:
    """Run a real `mailcli` on a pseudo-terminal (`script -qec`), answering each prompt
    (wait for the text, then type the line); (exit code, everything the terminal showed)."""
    import os
    import select
    import shlex
    import subprocess
    import sys
    import time

    cmd = shlex.join([sys.executable, "-m", "mailcli", *args])
    proc = subprocess.Popen(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdin is not None and proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    pending = list(answers)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
        while pending and pending[0][0].encode() in seen:
            wait_for, line = pending.pop(0)
            seen = seen.replace(wait_for.encode(), b"<" + wait_for.encode() + b">", 1)
            proc.stdin.write(line.encode() + b"\n")
            proc.stdin.flush()
    else:
        proc.kill()
        raise AssertionError(f"timed out; the terminal showed:\n{seen.decode(errors='replace')}")
    code = proc.wait(timeout=10)
    proc.stdin.close()
    text = seen.decode(errors="replace").replace("\r\n", "\n")
    assert not pending, f"never asked {pending[0][0]!r}; the terminal showed:\n{text}"
    return code, text


PROMPT = "[q]uit (discard)?"


def test_review_step_warns_on_empty_subject_attaches_and_sends(
        work, smtp_server: SmtpServer, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", editor_script(tmp_path))
    monkeypatch.delenv("VISUAL", raising=False)
    (tmp_path / "plan.txt").write_text("the plan\n")
    n = len(smtp_server.messages)
    code, screen = on_terminal(["compose", "--to", "zoe@example.test"],
                               [(PROMPT, "a"), ("file to attach", str(tmp_path / "plan.txt")),
                                (PROMPT, "y")])
    assert code == 0, screen
    assert "warning: the subject is empty" in screen
    assert "Attachments: plan.txt" in screen
    assert len(smtp_server.messages) == n + 1
    msg = parse(smtp_server.messages[n].data)
    assert [p.get_filename() for p in msg.iter_attachments()] == ["plan.txt"]
    assert str(msg.get_body(("plain",)).get_content()).startswith("Written in the editor")


def test_review_step_nothing_leaves_before_the_answer_and_quit_sends_nothing(
        work, smtp_server: SmtpServer, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", editor_script(tmp_path))
    monkeypatch.delenv("VISUAL", raising=False)
    n = len(smtp_server.messages)
    code, screen = on_terminal(["compose", "--to", "zoe@example.test", "--subject", "hi"],
                               [(PROMPT, "q"), ("discard this message?", "y")])
    assert code == 1 and "not sent: discarded" in screen, screen
    assert len(smtp_server.messages) == n
    assert store.count(work.name, "Outbox") == 0 and store.list_envelopes(work.name, "Drafts") == []


def test_postponed_reply_keeps_every_header_and_resumes(
        work, smtp_server: SmtpServer, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.test_send import seed_original

    oid = seed_original(store, work.name, work.user)
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, "first part\n"))
    monkeypatch.delenv("VISUAL", raising=False)
    n = len(smtp_server.messages)
    code, screen = on_terminal(["reply", str(oid), "--all", "--bcc", "hidden@example.test",
                                "--cc", "Dan <dan@example.test>"], [(PROMPT, "p")])
    assert code == 0, screen
    assert "saved the draft in Drafts as message" in screen
    assert len(smtp_server.messages) == n
    r = invoke("drafts", "--json")
    assert r.exit_code == 0, r.stderr
    (d,) = json.loads(r.stdout)
    assert d["subject"] == "Re: Plans for Köln" and d["folder"] == "Drafts"
    # resume: the editor sees every header; --yes sends when it exits
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, "second part\n"))
    r = invoke("compose", "--draft", str(d["id"]), "--yes")
    assert r.exit_code == 0, r.stderr
    rcv = smtp_server.messages[n]
    msg = parse(rcv.data)
    assert sorted(rcv.rcpt_tos) == ["alice@example.org", "bob@example.org", "carol@example.org",
                                    "dan@example.test", "hidden@example.test"]
    assert "Bcc" not in msg
    assert msg["Subject"] == "Re: Plans for Köln"
    assert msg["In-Reply-To"] == "<orig-1@example.org>"
    assert msg["References"] == "<orig-0@example.org> <orig-1@example.org>"
    body = str(msg.get_body(("plain",)).get_content()).replace("\r\n", "\n")
    assert body.startswith("second part\nfirst part\n") and "> Zeile zwei – ü" in body
    # the resumed draft is gone from Drafts, and its upload never happens
    assert store.list_envelopes(work.name, "Drafts") == []
    assert [a for a in store.journal.pending(work.name) if a.payload.get("draft")] == []
    assert json.loads(invoke("drafts", "--json").stdout) == []


def test_yes_sends_without_review_and_warns_on_empty_subject(
        work, smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", editor_script(tmp_path))
    monkeypatch.delenv("VISUAL", raising=False)
    n = len(smtp_server.messages)
    code, screen = on_terminal(["compose", "--to", "zoe@example.test", "--yes"], [])
    assert code == 0, screen
    assert PROMPT not in screen and "mailcli: warning: the subject is empty" in screen
    assert len(smtp_server.messages) == n + 1


def test_a_bad_address_in_the_editor_keeps_every_header_in_the_saved_draft(
        work, smtp_server: SmtpServer, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    editor = tmp_path / "bad.py"
    editor.write_text("import sys\n"
                      "open(sys.argv[1], 'w').write('To: zoe@example.test, not an address\\n"
                      "Cc: cc@example.test\\nBcc: hidden@example.test\\nSubject: keep me\\n\\nbody\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    r = invoke("compose")
    assert r.exit_code == 1 and "not an email address" in r.stderr, r.stderr
    (d,) = store.list_envelopes(work.name, "Drafts")
    saved = parse(store.read_raw(d.id))
    assert saved["Subject"] == "keep me" and "not an address" in str(saved["To"])
    assert saved["Cc"] == "cc@example.test" and saved["Bcc"] == "hidden@example.test"
    assert str(saved.get_body(("plain",)).get_content()).strip() == "body"
