"""Identities, aliases and signatures (issue 19), through the CLI against the real SMTP
fixture (aiosmtpd) and Dovecot: which From a reply/forward takes, what reply-all leaves
out, --from, a per-identity SMTP server, and where the RFC 3676 signature goes (once)."""
from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

import pytest

from mailcli.model import Flag
from mailcli.store import Store
from tests.helpers import invoke
from tests.integration.test_send import data, own_smtp, smtp_extra, store  # noqa: F401 (fixtures)
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = [pytest.mark.dovecot, pytest.mark.smtp]

SIG = "Me Myself\nExample Corp, +49 30 1234"
HOME_SIG = "Me at home"


def identities_toml(smtp: SmtpServer, tmp_path: Path, above: bool = False,
                    home_smtp: SmtpServer | None = None) -> str:
    (tmp_path / "home.sig").write_text("-- \n" + HOME_SIG + "\n")
    extra = (f'signature = """{SIG}"""\naliases = ["*@alias.example", "me+*@example.test"]\n'
             f"signature_above_quote = {'true' if above else 'false'}\n" + smtp_extra(smtp))
    extra += ('\n[[accounts.work.identities]]\nemail = "me@home.example"\nname = "Me at Home"\n'
              f'signature_file = "{tmp_path / "home.sig"}"\nsent_folder = "Sent Home"\n')
    if home_smtp is not None:
        extra += smtp_extra(home_smtp).replace("[accounts.work.smtp]",
                                               "[accounts.work.identities.smtp]")
    extra += '\n[[accounts.work.identities]]\nemail = "boss@work.example"\n'
    return extra


@pytest.fixture
def work(write_config, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    return write_config(extra=identities_toml(smtp_server, tmp_path))


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def body(msg: EmailMessage) -> str:
    return str(msg.get_body(("plain",)).get_content()).replace("\r\n", "\n")  # type: ignore[union-attr]


def seed(store: Store, account: str, uid: int, to: str, cc: str = "",
         delivered_to: str = "") -> int:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if delivered_to:
        msg["Delivered-To"] = delivered_to
    msg["Subject"] = f"Question {uid}"
    msg["Date"] = "Mon, 02 Nov 2026 10:00:00 +0000"
    msg["Message-ID"] = f"<q{uid}@example.org>"
    msg.set_content("What do you think?\n")
    return store.deliver(account, "INBOX", msg.as_bytes(), flags={Flag.SEEN}, uid=uid)


def send(smtp: SmtpServer, *args: str, text: str = "Fine.\n") -> tuple[EmailMessage, list[str], str]:
    """Run a command with --body-file -; the message the SMTP server got, its RCPT TOs and
    MAIL FROM."""
    n = len(smtp.messages)
    r = invoke(*args, "--body-file", "-", input=text)
    assert r.exit_code == 0, r.stderr
    got = smtp.messages[n:]
    assert len(got) == 1
    return parse(got[0].data), got[0].rcpt_tos, got[0].mail_from


# ------------------------------------------------------------------------ which identity
@pytest.mark.parametrize("where,expect", [
    ({"to": "Me at Home <me@home.example>, bob@example.org"}, "Me at Home <me@home.example>"),
    ({"to": "list@lists.example", "cc": "BOSS@work.example"}, "boss@work.example"),
    ({"to": "list@lists.example", "delivered_to": "me@home.example"}, "Me at Home <me@home.example>"),
    ({"to": "sales@alias.example"}, "sales@alias.example"),
    ({"to": "list@lists.example"}, None),   # none of ours: the account's own address
])
def test_reply_goes_out_from_the_identity_the_original_was_written_to(
        work, smtp_server: SmtpServer, store: Store, where: dict[str, str], expect: str | None) -> None:
    oid = seed(store, work.name, 1, **where)
    msg, rcpts, mail_from = send(smtp_server, "reply", str(oid))
    own = f"{work.user}@example.test"
    want_addr = getaddresses([expect])[0][1] if expect else own
    assert getaddresses([str(msg["From"])])[0][1].lower() == want_addr.lower()
    if expect and "<" in expect:
        assert msg["From"].addresses[0].display_name == "Me at Home"
    assert mail_from.lower() == want_addr.lower()
    assert rcpts == ["alice@example.org"]
    # the identity's signature: the home one from its file (its own "-- " line not doubled)
    text = body(msg)
    sig = HOME_SIG if want_addr == "me@home.example" else SIG
    assert text.count("-- \n") == 1 and text.rstrip().endswith(sig)


def test_forward_takes_the_identity_too_and_from_overrides(work, smtp_server: SmtpServer,
                                                           store: Store) -> None:
    oid = seed(store, work.name, 2, to="me@home.example")
    msg, _r, mail_from = send(smtp_server, "forward", str(oid), "--to", "dave@example.org")
    assert mail_from == "me@home.example"
    msg, _r, mail_from = send(smtp_server, "forward", str(oid), "--to", "dave@example.org",
                              "--from", "boss@work.example")
    assert mail_from == "boss@work.example" and str(msg["From"]) == "Test %s <boss@work.example>" % work.user
    text = body(msg)
    assert HOME_SIG not in text and text.count("-- \n") == 1 and SIG in text
    # compose --from picks the account by the address; an address that is not ours: exit 2
    msg, _r, mail_from = send(smtp_server, "compose", "--to", "x@example.org", "--subject", "s",
                              "--from", "me@home.example")
    assert mail_from == "me@home.example" and body(msg) == f"Fine.\n\n-- \n{HOME_SIG}\n"
    r = invoke("compose", "--to", "x@example.org", "--from", "stranger@example.org",
               "--body-file", "-", input="x\n")
    assert r.exit_code == 2 and "not one of your addresses" in r.stderr


def test_reply_all_never_includes_any_of_the_users_addresses(work, smtp_server: SmtpServer,
                                                             store: Store) -> None:
    own = f"{work.user}@example.test"
    oid = seed(store, work.name, 3,
               to=f"me@home.example, Boss <BOSS@work.example>, bob@example.org, {own}",
               cc=f"info@alias.example, me+lists@example.test, carol@example.org, {own.upper()}")
    msg, rcpts, mail_from = send(smtp_server, "reply", str(oid), "--all")
    assert mail_from == "me@home.example"
    assert sorted(rcpts) == ["alice@example.org", "bob@example.org", "carol@example.org"]
    assert [a for _n, a in getaddresses([str(msg["To"]), str(msg.get("Cc", ""))])] == [
        "alice@example.org", "bob@example.org", "carol@example.org"]


# ------------------------------------------------------------------------ signatures
def test_signature_below_by_default_and_above_the_quote_when_configured(
        write_config, smtp_server: SmtpServer, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=identities_toml(smtp_server, tmp_path))
    oid = seed(store, spec.name, 4, to="list@lists.example")
    msg, _r, _f = send(smtp_server, "compose", "--to", "x@example.org", "--subject", "s",
                       text="Hello\n")
    assert body(msg) == f"Hello\n\n-- \n{SIG}\n"
    msg, _r, _f = send(smtp_server, "reply", str(oid), text="Fine.\n")
    text = body(msg)
    assert text.index("> What do you think?") < text.index("-- \n" + SIG)
    # above the quote
    config = tmp_path / "config.toml"
    config.write_text(config.read_text().replace("signature_above_quote = false",
                                                 "signature_above_quote = true"))
    msg, _r, _f = send(smtp_server, "reply", str(oid), text="Fine.\n")
    text = body(msg)
    assert text.startswith(f"Fine.\n\n-- \n{SIG}\n\nOn ")
    assert text.index("-- \n") < text.index("> What do you think?") and text.count("-- \n") == 1


def test_signature_is_not_added_again_when_a_draft_is_edited_again_or_resumed(
        work, smtp_server: SmtpServer, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from mailcli.service import Service

    # the editor records what it is shown and changes nothing
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.py"
    editor.write_text(f"import pathlib, sys\npathlib.Path({str(seen)!r}).write_bytes("
                      "pathlib.Path(sys.argv[1]).read_bytes())\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    svc = Service.open(tmp_path / "config.toml")
    draft = svc.new_draft(work.name)
    assert draft.body == f"\n\n-- \n{SIG}\n"
    draft.to, draft.subject, draft.body = ["x@example.org"], "Later", "Half written\n" + draft.body
    kept = svc.save_draft(work.name, draft)
    svc.close()
    n = len(smtp_server.messages)
    r = invoke("compose", "--draft", str(kept), "--yes")
    assert r.exit_code == 0, r.stderr
    text = body(parse(smtp_server.messages[n].data))
    assert text.count("-- \n") == 1 and text.count(SIG) == 1
    assert "Half written" in text
    shown = seen.read_text(encoding="utf-8")
    assert shown.count("-- \n") == 1 and "Half written" in shown


# ------------------------------------------------------------------------ per-identity SMTP
def test_an_identity_with_its_own_smtp_server_and_sent_folder(
        write_config, smtp_server: SmtpServer, own_smtp: SmtpServer, store: Store,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=identities_toml(smtp_server, tmp_path, home_smtp=own_smtp))
    before = len(smtp_server.messages)
    n = len(own_smtp.messages)
    r = invoke("compose", "--from", "me@home.example", "--to", "x@example.org", "--subject", "s",
               "--body-file", "-", "--json", input="Hi\n")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(own_smtp.messages) == n + 1 and len(smtp_server.messages) == before
    assert own_smtp.messages[n].mail_from == "me@home.example"
    assert doc["sent_folder"].endswith("Sent Home")
    # the account's own address still goes through the account's server
    r = invoke("compose", "--to", "x@example.org", "--subject", "s", "--body-file", "-", input="Hi\n")
    assert r.exit_code == 0, r.stderr
    assert len(smtp_server.messages) == before + 1 and len(own_smtp.messages) == n + 1
    assert spec.name == "work"
