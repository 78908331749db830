"""Writing PGP/MIME (issue 19) end to end: `compose`/`reply --sign/--encrypt` and the
pgp_sign/pgp_encrypt defaults, through the CLI against aiosmtpd and Dovecot; what the
SMTP server received is checked by plain gpg in the correspondent's own home (Bob), and
the Sent copy by mailcli in the sender's (Alice)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailcli.store import Store
from tests.helpers import invoke
from tests.integration.test_send import smtp_extra
from tests.pgp import made_by_gpg as made
from tests.pgp.keys import BOB, CAROL, DAVE, Home, Keys
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = [pytest.mark.dovecot, pytest.mark.smtp]

TEXT = "Meet me at the old mill. Zebra crossing 42.\nLine with trailing space \n-- \nAlice\n"


@pytest.fixture
def account(write_config, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch,
            alice_home: Home):
    """An account whose key is Alice's (pgp_key: the account's address is another)."""
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)

    def make(extra: str = "") -> object:
        return write_config(extra=f'pgp_key = "{alice_home.fpr}"\n' + extra + smtp_extra(smtp_server))
    return make


def send(smtp: SmtpServer, *args: str, text: str = TEXT, code: int = 0) -> tuple[bytes | None, dict, str]:
    n = len(smtp.messages)
    r = invoke(*args, "--body-file", "-", "--json", input=text)
    assert r.exit_code == code, r
    got = smtp.messages[n:]
    if code != 0:
        assert got == []
        return None, {}, r.stderr
    assert len(got) == 1
    return got[0].data, json.loads(r.stdout), r.stderr


def split_multipart(raw: bytes) -> tuple[bytes, list[bytes]]:
    """(top header block, body parts as exact bytes), by the RFC 2046 rules, written
    independently of mailcli's parser."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head, body = raw.split(b"\r\n\r\n", 1)
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", head)
    boundary = re.search(rb'boundary="([^"]+)"', unfolded).group(1)  # type: ignore[union-attr]
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    assert chunks[-1].startswith(b"--")
    return unfolded, [c[2:] for c in chunks[1:-1]]      # each chunk starts with its CRLF


def gpg_verify(home: Home, raw: bytes, tmp_path: Path) -> str:
    """Bob checks a multipart/signed message with plain gpg; returns the status text."""
    head, (signed, sig_part) = split_multipart(raw)
    assert b"multipart/signed" in head and b'protocol="application/pgp-signature"' in head
    assert b"micalg=pgp-sha" in head
    sig = sig_part.split(b"\r\n\r\n", 1)[1]
    (tmp_path / "sig.asc").write_bytes(sig)
    r = home.gpg("--status-fd", "1", "--verify", str(tmp_path / "sig.asc"), "-", input=signed,
                 check=False)
    return r.stdout.decode()


def gpg_decrypt(home: Home, raw: bytes) -> tuple[bytes, str]:
    head, parts = split_multipart(raw)
    assert b"multipart/encrypted" in head and b'protocol="application/pgp-encrypted"' in head
    assert parts[0].endswith(b"Version: 1\r\n") or b"Version: 1" in parts[0]
    armored = parts[1].split(b"\r\n\r\n", 1)[1]
    r = home.gpg("--status-fd", "2", "--decrypt", input=armored, check=False)
    return r.stdout, r.stderr.decode()


# ------------------------------------------------------------------ signing
def test_sign_is_verified_by_plain_gpg(account, smtp_server: SmtpServer, keys: Keys,
                                       tmp_path: Path, store: Store) -> None:
    account()
    raw, doc, _ = send(smtp_server, "compose", "--to", BOB, "--subject", "signed", "--sign")
    assert raw is not None
    status = gpg_verify(keys.bob, raw, tmp_path)
    assert f"VALIDSIG {keys.alice.fpr}" in status or "GOODSIG" in status, status
    assert "GOODSIG" in status and keys.alice.fpr in status
    # the text arrived as written (quoted-printable keeps the trailing space and "-- ")
    _, (signed, _sig) = split_multipart(raw)
    assert b"quoted-printable" in signed.lower()
    # the Sent copy is shown as good by mailcli itself
    shown = json.loads(invoke("show", str(doc["sent_id"]), "--json", "--no-mark").stdout)
    assert shown["pgp"]["signature"] == "good" and shown["pgp"]["fingerprint"] == keys.alice.fpr
    assert "Line with trailing space \n-- \nAlice" in shown["text"]
    # a changed byte breaks it for plain gpg too
    assert "BADSIG" in gpg_verify(keys.bob, raw.replace(b"old mill", b"new mill"), tmp_path)


def test_pgp_sign_default_of_an_identity_and_key_by_address(
        write_config, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch,
        alice_home: Home, keys: Keys, tmp_path: Path) -> None:
    """pgp_sign = true on an identity signs with the secret key found by its address;
    --no-sign turns it off for one message; the account's own address (no key, no
    pgp_sign) sends unsigned."""
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    write_config(extra='\n[[accounts.work.identities]]\nemail = "alice@example.org"\n'
                       'name = "Alice"\npgp_sign = true\n' + smtp_extra(smtp_server))
    raw, _, _ = send(smtp_server, "compose", "--from", "alice@example.org", "--to", BOB,
                     "--subject", "by default")
    assert raw is not None and "GOODSIG" in gpg_verify(keys.bob, raw, tmp_path)
    raw, _, _ = send(smtp_server, "compose", "--from", "alice@example.org", "--to", BOB,
                     "--subject", "not this one", "--no-sign")
    assert raw is not None and b"multipart/signed" not in raw
    raw, _, _ = send(smtp_server, "compose", "--to", BOB, "--subject", "account's own")
    assert raw is not None and b"multipart/signed" not in raw


def test_sign_without_a_secret_key_sends_nothing(write_config, smtp_server: SmtpServer,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 alice_home: Home, store: Store) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=smtp_extra(smtp_server))
    _, _, err = send(smtp_server, "compose", "--to", BOB, "--subject", "x", "--sign", code=2)
    assert err.startswith("mailcli: error: no secret PGP key for") and "nothing was sent" in err
    assert err.count("\n") <= 2 and "Traceback" not in err
    assert store.count(spec.name, "Outbox") == 0


# ------------------------------------------------------------------ encrypting
@pytest.fixture
def alice_knows_carol(keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of Alice's home that also has Carol's key, certified."""
    from tests.pgp.keys import copy_home

    home = copy_home(keys.alice, tmp_path)
    home.import_(keys.carol.export(keys.carol.fpr))
    home.gpg("--quick-lsign-key", keys.carol.fpr)
    monkeypatch.setenv("GNUPGHOME", str(home.path))
    yield home
    home.remove()


def test_encrypt_is_decrypted_by_plain_gpg_and_the_sent_copy_by_the_sender(
        account, smtp_server: SmtpServer, keys: Keys, store: Store, alice_knows_carol: Home) -> None:
    account()
    raw, doc, _ = send(smtp_server, "compose", "--to", BOB, "--bcc", CAROL, "--subject", "secret",
                       "--encrypt", "--sign")
    assert raw is not None and b"Zebra" not in raw
    assert b"Subject: secret" in raw          # outer headers are not encrypted (documented)
    plain, status = gpg_decrypt(keys.bob, raw)
    assert b"Zebra crossing 42." in plain and "DECRYPTION_OKAY" in status
    assert "GOODSIG" in status and keys.alice.fpr in status     # signed inside (RFC 3156 6.2)
    # Carol (Bcc) can read it too, but her key ID is not in the message
    plain_c, _ = gpg_decrypt(keys.carol, raw)
    assert b"Zebra" in plain_c
    packets = keys.bob.gpg("--list-packets", input=split_multipart(raw)[1][1].split(b"\r\n\r\n", 1)[1],
                           check=False).stdout.decode()
    assert keys.carol.fpr[-16:] not in packets and "keyid 0000000000000000" in packets
    # the Sent copy (the same bytes) is readable by the sender, and nothing in the cache
    # or the index holds the text
    sent = json.loads(invoke("show", str(doc["sent_id"]), "--json", "--no-mark").stdout)
    assert sent["pgp"]["decrypted"] is True and "Zebra crossing 42." in sent["text"]
    assert sent["pgp"]["signature"] == "good"
    assert json.loads(invoke("search", "zebra", "--json").stdout) == []


def test_always_with_a_missing_key_is_one_line_and_nothing_is_sent(
        account, smtp_server: SmtpServer, store: Store) -> None:
    spec = account('pgp_encrypt = "always"\n')
    _, _, err = send(smtp_server, "compose", "--to", BOB, "--cc", "nokey@example.com",
                     "--subject", "x", code=2)
    assert err.splitlines()[0] == ("mailcli: error: no PGP key for nokey@example.com in your "
                                   "keyring (nothing was sent)")
    assert store.count(spec.name, "Outbox") == 0
    assert json.loads(invoke("send", "--list", "--json").stdout) == []


def test_a_key_that_is_not_certified_is_not_used(account, smtp_server: SmtpServer,
                                                 store: Store) -> None:
    account()
    _, _, err = send(smtp_server, "compose", "--to", DAVE, "--subject", "x", "--encrypt", code=2)
    assert "not certified" in err.splitlines()[0] and "quick-lsign-key" in err


def test_if_possible_encrypts_only_when_every_key_is_there(account, smtp_server: SmtpServer,
                                                          keys: Keys) -> None:
    account('pgp_encrypt = "if-possible"\n')
    raw, _, _ = send(smtp_server, "compose", "--to", BOB, "--subject", "all keys")
    assert raw is not None and b"multipart/encrypted" in raw
    assert b"Zebra" in gpg_decrypt(keys.bob, raw)[0]
    raw, _, _ = send(smtp_server, "compose", "--to", BOB, "--cc", "nokey@example.com",
                     "--subject", "one missing")
    assert raw is not None and b"multipart/encrypted" not in raw and b"Zebra" in raw
    raw, _, _ = send(smtp_server, "compose", "--to", BOB, "--subject", "told not to", "--no-encrypt")
    assert raw is not None and b"Zebra" in raw


def test_a_reply_to_encrypted_mail_is_encrypted_by_default(account, smtp_server: SmtpServer,
                                                          keys: Keys, store: Store) -> None:
    spec = account()
    original = made.message(b"for alice", made.encrypted_entity(
        keys.bob, made.BODY.replace(b"noon", b"midnight"), [keys.alice.fpr]))
    id = store.deliver(spec.name, "INBOX", original, uid=1)
    raw, _, _ = send(smtp_server, "reply", str(id), text="Agreed.\n")
    assert raw is not None and b"multipart/encrypted" in raw and b"midnight" not in raw
    plain, _ = gpg_decrypt(keys.bob, raw)
    assert b"Agreed." in plain and b"> The eagle lands at midnight" in plain   # quoted, decrypted
    # --no-encrypt is the user's explicit choice
    raw, _, _ = send(smtp_server, "reply", str(id), "--no-encrypt", text="Plain.\n")
    assert raw is not None and b"multipart/encrypted" not in raw
    # without Bob's key the reply is refused rather than sent in clear
    id2 = store.deliver(spec.name, "INBOX", made.message(b"from carol", made.encrypted_entity(
        keys.bob, made.BODY, [keys.alice.fpr])).replace(b"bob@example.net", CAROL.encode()), uid=2)
    _, _, err = send(smtp_server, "reply", str(id2), text="x\n", code=2)
    assert f"no PGP key for {CAROL}" in err and "--no-encrypt" in err


@pytest.mark.parametrize("extra,key,says", [
    ('pgp_encrypt = "sometimes"\n', "pgp_encrypt", "if-possible"),
    ('pgp_sign = "yes"\n', "pgp_sign", "true or false"),
    ('pgp_key = "--armor"\n', "pgp_key", "fingerprint"),
    ('\n[[accounts.work.identities]]\nemail = "a@b.example"\npgp_encrypt = "alway"\n',
     "identities #1] pgp_encrypt", "did you mean 'always'"),
])
def test_pgp_config_keys_are_checked(write_config, alice_home: Home, extra: str, key: str,
                                     says: str) -> None:
    write_config(extra=extra)
    r = invoke("list")
    assert r.exit_code == 2 and key in r.stderr and says in r.stderr, r
    assert r.stderr.startswith("mailcli: error: ") and "Traceback" not in r.stderr


def test_a_draft_of_an_answer_to_encrypted_mail_is_kept_encrypted(
        account, smtp_server: SmtpServer, keys: Keys, store: Store, tmp_path: Path) -> None:
    """The quote in a reply is decrypted text: a saved draft of it is encrypted to the
    user's own key (locally and for the server's Drafts); resuming decrypts it and
    keeps encryption on, so it also goes out encrypted."""
    from mailcli.config import load_config
    from mailcli.service import Service

    spec = account()
    original = made.message(b"for alice", made.encrypted_entity(
        keys.bob, made.BODY.replace(b"noon", b"midnight"), [keys.alice.fpr]))
    id = store.deliver(spec.name, "INBOX", original, uid=1)
    svc = Service(load_config(tmp_path / "config.toml"), tmp_path / "data")
    try:
        draft = svc.reply_draft(id)
        draft.body = "Draft thoughts about the Quagga.\n" + draft.body
        kept = svc.save_draft(None, draft)
        raw = store.read_raw(kept)
        assert b"multipart/encrypted" in raw
        for path in (tmp_path / "data").rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert b"midnight" not in data and b"Quagga" not in data, path
        back = svc.resume_draft(kept)
        assert "Quagga" in back.body and "> The eagle lands at midnight" in back.body
        assert back.encrypt is True and back.to == [f"Bob <{BOB}>"]
    finally:
        svc.close()
    n = len(smtp_server.messages)
    r = invoke("compose", "--draft", str(kept), "--yes", "--json", input="",
               env={"EDITOR": "true", "VISUAL": "true"})
    assert r.exit_code == 0, r
    sent = smtp_server.messages[n:][0].data
    assert b"multipart/encrypted" in sent and b"Quagga" not in sent
    assert b"Quagga" in gpg_decrypt(keys.bob, sent)[0]


def test_signed_and_encrypted_mail_with_attachments(account, smtp_server: SmtpServer,
                                                   keys: Keys, tmp_path: Path) -> None:
    """Attachments are inside the signed/encrypted part; a text attachment with trailing
    spaces and a "From " line survives as signed (quoted-printable)."""
    account()
    notes = tmp_path / "notes.txt"
    notes.write_text("trailing   \nFrom the start of a line\n")
    blob = tmp_path / "data.bin"
    blob.write_bytes(bytes(range(256)) * 8)
    raw, doc, _ = send(smtp_server, "compose", "--to", BOB, "--subject", "files", "--sign",
                       "--attach", str(notes), "--attach", str(blob))
    assert raw is not None and "GOODSIG" in gpg_verify(keys.bob, raw, tmp_path)
    _, (signed, _sig) = split_multipart(raw)
    assert b"multipart/mixed" in signed and b"notes.txt" in signed and b"data.bin" in signed
    assert b"\r\nFrom " not in signed and b"=46rom the start" in signed
    assert b"trailing  =20" in signed
    shown = json.loads(invoke("show", str(doc["sent_id"]), "--json", "--no-mark").stdout)
    assert shown["pgp"]["signature"] == "good"
    r = invoke("attachments", str(doc["sent_id"]), "--save", str(tmp_path / "signed"))
    assert (tmp_path / "signed" / "notes.txt").read_text() == "trailing   \nFrom the start of a line\n"
    raw, doc, _ = send(smtp_server, "compose", "--to", BOB, "--subject", "files", "--encrypt",
                       "--attach", str(notes), "--attach", str(blob))
    assert raw is not None and b"notes.txt" not in raw
    plain, _ = gpg_decrypt(keys.bob, raw)
    assert b"notes.txt" in plain and b"data.bin" in plain
    shown = json.loads(invoke("show", str(doc["sent_id"]), "--json", "--no-mark").stdout)
    assert [a["filename"] for a in shown["attachments"]] == ["notes.txt", "data.bin"]
    r = invoke("attachments", str(doc["sent_id"]), "--save", str(tmp_path / "out"))
    assert r.exit_code == 0, r
    assert (tmp_path / "out" / "data.bin").read_bytes() == blob.read_bytes()


def test_the_review_step_says_what_pgp_will_do(account, keys: Keys, tmp_path: Path) -> None:
    from mailcli.config import load_config
    from mailcli.service import Service

    account()
    svc = Service(load_config(tmp_path / "config.toml"), tmp_path / "data")
    try:
        draft = svc.new_draft()
        draft.to = [f"Bob <{BOB}>"]
        assert svc.pgp_plan(draft) == ""
        draft.sign = True
        assert svc.pgp_plan(draft) == "signed"
        draft.encrypt = True
        assert svc.pgp_plan(draft) == "signed and encrypted (to 2 keys, yours included)"
        draft.cc = ["nokey@example.com"]
        assert svc.pgp_plan(draft).startswith("not possible: no PGP key for nokey@example.com")
    finally:
        svc.close()


def test_a_failed_signature_keeps_the_written_draft(write_config, smtp_server: SmtpServer,
                                                    monkeypatch: pytest.MonkeyPatch, alice_home: Home,
                                                    store: Store, tmp_path: Path) -> None:
    """gpg refusing to sign (an unusable pgp_key, a cancelled passphrase): nothing is
    queued or sent, and what the user wrote in the editor is kept in Drafts."""
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra='pgp_key = "0xDEADBEEFDEADBEEF"\npgp_sign = true\n' + smtp_extra(smtp_server))
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho "Words worth keeping." >> "$1"\n')
    editor.chmod(0o755)
    n = len(smtp_server.messages)
    r = invoke("compose", "--to", BOB, "--subject", "kept", "--yes",
               env={"EDITOR": str(editor), "VISUAL": str(editor)})
    assert r.exit_code == 1, r
    assert r.stderr.startswith("mailcli: error: not sent: gpg could not sign as 0xDEADBEEFDEADBEEF")
    assert "kept in Drafts as message" in r.stderr
    assert smtp_server.messages[n:] == [] and store.count(spec.name, "Outbox") == 0
    drafts = json.loads(invoke("drafts", "--json").stdout)
    assert len(drafts) == 1
    assert "Words worth keeping." in store.read_raw(drafts[0]["id"]).decode()
