"""Reading PGP/MIME (issue 19): `show`, `show --json` and `attachments` on messages made by
plain gpg the way other clients make them, and on real PGP/MIME mail from the corpus;
decrypted text kept out of the index unless index_decrypted = true.

GnuPG runs for real, in throwaway homes (tests/pgp/keys.py); mailcli runs as Alice."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from mailcli.store import Store
from tests.helpers import invoke
from tests.pgp import made_by_gpg as made
from tests.pgp.keys import ALICE, BOB, Home, Keys

CORPUS = Path(__file__).parent.parent / "data" / "corpus"
SECRET_WORD = b"Zebra"


def write_config(tmp_path: Path, general: str = "") -> None:
    (tmp_path / "config.toml").write_text(
        (f"[general]\n{general}\n" if general else "")
        + '[accounts.work]\nprotocol = "imap"\nhost = "127.0.0.1"\nport = 1\n'
          'security = "tls"\nusername = "alice"\npassword_env = "NOPE"\n'
          f'email = "{ALICE}"\nname = "Alice"\n')


def deliver(raw: bytes, uid: int = 1) -> int:
    with Store(Path(os.environ["MAILCLI_DATA"])) as store:
        return store.deliver("work", "INBOX", raw, uid=uid)


def show_json(id: int) -> dict:
    r = invoke("show", str(id), "--json", "--no-mark")
    assert r.exit_code == 0, r
    return json.loads(r.stdout)


def show_text(id: int) -> str:
    r = invoke("show", str(id), "--no-pager", "--no-mark")
    assert r.exit_code == 0, r
    return r.stdout


@pytest.fixture
def config(tmp_path: Path, alice_home: Home) -> Path:
    write_config(tmp_path)
    return tmp_path


# ------------------------------------------------------------------ made by plain gpg
def test_a_good_signature_names_signer_and_key(config: Path, keys: Keys) -> None:
    id = deliver(made.signed(keys.bob))
    doc = show_json(id)
    pgp = doc["pgp"]
    assert pgp["signature"] == "good" and pgp["signer"] == f"Bob <{BOB}>"
    assert pgp["fingerprint"] == keys.bob.fpr and pgp["key_id"] == keys.bob.fpr[-16:]
    assert pgp["encrypted"] is False and pgp["decrypted"] is False
    assert pgp["signer_matches_from"] is True
    assert "The eagle lands at noon" in doc["text"]
    out = show_text(id)
    assert out.splitlines()[0] == f"Signature: good (Bob <{BOB}>, key {keys.bob.fpr[-16:]})"
    # the signature part is not an attachment a reader needs to save; the body is shown once
    assert out.count("The eagle lands at noon") == 1


def test_a_good_signature_by_a_key_not_of_the_sender_says_so(config: Path, keys: Keys) -> None:
    """From: the boss, signed (validly) by Bob: good, but not the From address's key."""
    raw = made.signed(keys.bob).replace(b"From: Bob <bob@example.net>", b"From: Boss <boss@example.org>")
    id = deliver(raw)
    pgp = show_json(id)["pgp"]
    assert pgp["signature"] == "good" and pgp["signer_matches_from"] is False
    assert show_text(id).splitlines()[0].endswith(", not the From address)")


def test_a_signature_by_an_unknown_key_is_unknown_key(config: Path, keys: Keys) -> None:
    id = deliver(made.signed(keys.carol))
    pgp = show_json(id)["pgp"]
    assert pgp["signature"] == "unknown_key" and pgp["key_id"] == keys.carol.fpr[-16:]
    assert pgp["signer"] is None
    assert show_text(id).splitlines()[0] == f"Signature: unknown key (key {keys.carol.fpr[-16:]})"


def test_a_tampered_message_is_bad(config: Path, keys: Keys) -> None:
    id = deliver(made.tampered(keys.bob))
    pgp = show_json(id)["pgp"]
    assert pgp["signature"] == "bad" and pgp["fingerprint"] is None
    first = show_text(id).splitlines()[0]
    assert first.startswith("Signature: bad (Bob <bob@example.net>") and "changed" in first


def test_a_signed_part_beside_an_unsigned_one_is_partial_never_good(config: Path, keys: Keys) -> None:
    id = deliver(made.partially_signed(keys.bob))
    doc = show_json(id)
    assert doc["pgp"]["signature"] == "partial"
    assert doc["pgp"]["signed_part"] == "good"        # that part's own verdict, labelled as such
    assert "wire the money" in doc["text"]            # the unsigned text is shown...
    first = show_text(id).splitlines()[0]
    assert first.startswith("Signature: partial: only part of this message is signed")
    assert "Signature: good" not in show_text(id)     # ...and never under a "good"


def test_line_ends_are_canonicalised_before_verifying(config: Path, keys: Keys) -> None:
    """A cache file with LF line ends (saved by another program) still verifies: the
    signed part is made CRLF as RFC 3156 says; a changed byte still fails."""
    raw = made.signed(keys.bob).replace(b"\r\n", b"\n")
    assert show_json(deliver(raw))["pgp"]["signature"] == "good"
    bad = raw.replace(b"crossing 42", b"crossing 43")
    assert show_json(deliver(bad, uid=2))["pgp"]["signature"] == "bad"


def test_trailing_space_in_the_signed_part_counts(config: Path, keys: Keys) -> None:
    """Verification is over the exact bytes: a space added at a line end is a change."""
    raw = made.signed(keys.bob)
    changed = raw.replace(b"at noon.", b"at noon. ", 1)
    assert show_json(deliver(changed))["pgp"]["signature"] == "bad"


@pytest.mark.parametrize("kind", ["encrypted", "combined", "signed_then_encrypted"])
def test_encrypted_mail_is_decrypted_with_the_users_key(config: Path, keys: Keys, kind: str) -> None:
    raw = {"encrypted": lambda: made.encrypted(keys.bob),
           "combined": lambda: made.encrypted(keys.bob, sign=True),
           "signed_then_encrypted": lambda: made.signed_then_encrypted(keys.bob)}[kind]()
    assert SECRET_WORD not in raw
    id = deliver(raw)
    doc = show_json(id)
    pgp = doc["pgp"]
    assert pgp["encrypted"] is True and pgp["decrypted"] is True
    assert "The eagle lands at noon. Zebra crossing 42." in doc["text"]
    if kind == "encrypted":
        assert pgp["signature"] is None
    else:
        assert pgp["signature"] == "good" and pgp["signer"] == f"Bob <{BOB}>"
    lines = show_text(id).splitlines()
    assert lines[0] == "Decrypted"
    if kind != "encrypted":
        assert lines[1].startswith("Signature: good (Bob")
    assert [a["content_type"] for a in doc["attachments"]] == []   # the inner message's


def test_mail_for_someone_else_is_not_decrypted_and_says_why(config: Path, keys: Keys) -> None:
    raw = made.message(b"for bob only", made.encrypted_entity(keys.bob, made.BODY, [BOB]))
    id = deliver(raw)
    pgp = show_json(id)["pgp"]
    assert pgp["encrypted"] is True and pgp["decrypted"] is False
    assert "secret key" in pgp["error"]
    assert show_text(id).splitlines()[0].startswith("Encrypted: not decrypted (no secret key")


def test_attachments_of_an_encrypted_message_are_the_inner_ones(config: Path, keys: Keys,
                                                                   tmp_path: Path) -> None:
    inner = (b'Content-Type: multipart/mixed; boundary="in"\r\n\r\n--in\r\n' + made.BODY +
             b"\r\n--in\r\nContent-Type: application/octet-stream\r\n"
             b'Content-Disposition: attachment; filename="plan.bin"\r\n'
             b"Content-Transfer-Encoding: base64\r\n\r\nc2VjcmV0IHBsYW4=\r\n--in--\r\n")
    id = deliver(made.message(b"with file", made.encrypted_entity(keys.bob, inner, [ALICE])))
    doc = show_json(id)
    assert [a["filename"] for a in doc["attachments"]] == ["plan.bin"]
    r = invoke("attachments", str(id), "--save", str(tmp_path / "out"))
    assert r.exit_code == 0, r
    assert (tmp_path / "out" / "plan.bin").read_bytes() == b"secret plan"


def test_decrypted_text_is_neutralised(config: Path, keys: Keys) -> None:
    """Escape sequences in the decrypted text never reach the terminal (nor show --json)."""
    body = (b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            b"Hello \x1b]0;pwned\x07 there \x1b[2J\r\n")
    id = deliver(made.message(b"evil", made.encrypted_entity(keys.bob, body, [ALICE])))
    out = show_text(id)
    raw_json = invoke("show", str(id), "--json", "--no-mark").stdout
    assert "\x1b" not in out and "\x07" not in out
    assert "\\u001b" not in raw_json and "\x1b" not in raw_json
    assert "Hello" in out


def test_a_signer_user_id_with_control_characters_is_neutralised(
        tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.pgp.keys import copy_home

    evil = copy_home(keys.bob, tmp_path)
    mine = copy_home(keys.alice, tmp_path)
    try:
        uid = "Evil \x1b[31mRed\x1b[0m <evil@example.net>"
        evil.gpg("--quick-add-uid", keys.bob.fpr, uid)
        mine.import_(evil.export(keys.bob.fpr))
        monkeypatch.setenv("GNUPGHOME", str(mine.path))
        write_config(tmp_path)
        id = deliver(made.signed(evil))
        out = show_text(id)
        doc = show_json(id)
        assert out.splitlines()[0].startswith("Signature: good")
        assert "\x1b" not in out and "\x1b" not in json.dumps(doc["pgp"], ensure_ascii=False)
    finally:
        evil.remove()
        mine.remove()


def test_mail_without_pgp_runs_no_gpg(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain mail costs nothing: `show` does not even start gpg (and says pgp: null)."""
    monkeypatch.setenv("PATH", "/nonexistent")
    id = deliver(b"From: a@b.example\r\nSubject: plain\r\n\r\nhello\r\n")
    assert show_json(id)["pgp"] is None
    assert show_text(id).splitlines()[0].startswith("Subject:") or "hello" in show_text(id)


def test_no_gpg_installed_is_reported_not_a_traceback(config: Path, keys: Keys,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    raw = made.signed(keys.bob)
    id = deliver(raw)
    monkeypatch.setenv("PATH", "/nonexistent")
    r = invoke("show", str(id), "--json", "--no-mark")
    assert r.exit_code == 0, r
    pgp = json.loads(r.stdout)["pgp"]
    assert pgp["signature"] is None and "GnuPG is not installed" in pgp["error"]


# ------------------------------------------------------------------ real mail (corpus)
def test_real_list_mail_with_a_signed_part_and_a_footer_is_partial(config: Path) -> None:
    """GnuPG 2.1.20's announcement as a subscriber got it (via MimeKit's test data): the
    list added an unsigned footer beside Werner Koch's signed part; his key is not in
    the keyring."""
    raw = (CORPUS / "mimekit" / "openpgp___Announce_GnuPG_2.1.20_released.eml").read_bytes()
    doc = show_json(deliver(raw))
    pgp = doc["pgp"]
    assert pgp["signature"] == "partial" and pgp["signed_part"] == "unknown_key"
    assert pgp["key_id"] == "4F0540D577F95F95"
    assert "Gnupg-announce mailing list" in doc["text"] and "version 2.1.20" in doc["text"]


@pytest.mark.parametrize("name,verdict", [
    ("cpython/msg_45.eml", "unknown_key"),
    ("mikel-mail/mime_emails__sig_only_email.eml", "bad"),        # its armour is corrupt
    ("stalwart-mail-parser/eml__malformed__015.eml", "bad"),
])
def test_real_signed_mail_without_the_key(config: Path, name: str, verdict: str) -> None:
    doc = show_json(deliver((CORPUS / name).read_bytes()))
    assert doc["pgp"]["signature"] == verdict
    assert doc["pgp"]["signature"] != "good"
    if verdict == "bad":
        assert doc["pgp"]["error"].startswith("the signature is malformed")
    assert doc["text"].strip()


# ------------------------------------------------------------------ the index
def _index_bytes(data: Path) -> bytes:
    out = b""
    for p in data.iterdir():
        if p.name.startswith("index.sqlite3"):
            out += p.read_bytes()
    return out


def _fts_text(data: Path) -> str:
    """The text the full-text index keeps a copy of: decrypted text goes to the kept
    table (the contentless one holds no text to read back; see mailcli.store.fts)."""
    conn = sqlite3.connect(data / "index.sqlite3")
    try:
        return " ".join(str(r) for r in conn.execute("SELECT * FROM messages_fts"))
    finally:
        conn.close()


def test_decrypted_text_stays_out_of_the_index_and_cache(config: Path, keys: Keys) -> None:
    data = Path(os.environ["MAILCLI_DATA"])
    id = deliver(made.encrypted(keys.bob))
    assert "Zebra crossing" in show_json(id)["text"]
    invoke("show", str(id), "--no-pager")                  # marks it seen: a write
    r = invoke("search", "zebra", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert "Zebra" not in _fts_text(data)
    assert SECRET_WORD not in _index_bytes(data)
    for path in data.rglob("*"):
        if path.is_file():
            assert SECRET_WORD not in path.read_bytes(), path


def test_index_decrypted_makes_shown_text_searchable(tmp_path: Path, alice_home: Home,
                                                     keys: Keys) -> None:
    write_config(tmp_path, general="index_decrypted = true")
    id = deliver(made.encrypted(keys.bob))
    assert json.loads(invoke("search", "zebra", "--json").stdout) == []   # not yet read
    show_json(id)
    found = json.loads(invoke("search", "zebra", "--json").stdout)
    assert [e["id"] for e in found] == [id]
    show_json(id)                                            # shown again: indexed once
    assert _fts_text(Path(os.environ["MAILCLI_DATA"])).count("Zebra") == 1


def test_protected_headers_inside_the_encryption_are_shown(config: Path, keys: Keys) -> None:
    """Thunderbird-style: Subject "..." outside, the real one inside the encrypted part."""
    inner = (b'Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\n'
             b"Subject: The real plan\r\n\r\nThe eagle lands at noon.\r\n")
    raw = made.message(b"...", made.encrypted_entity(keys.bob, inner, [ALICE]))
    id = deliver(raw)
    out = show_text(id)
    assert "Subject: The real plan" in out and "Subject: ..." not in out
    assert "The eagle lands at noon." in out


def test_an_encrypted_part_beside_others_is_reported_not_hidden(config: Path, keys: Keys) -> None:
    enc = made.encrypted_entity(keys.bob, made.BODY, [ALICE])
    footer = b"Content-Type: text/plain\r\n\r\nList footer\r\n"
    raw = made.message(b"mixed", b'Content-Type: multipart/mixed; boundary="mx"\r\n\r\n--mx\r\n'
                       + enc + b"\r\n--mx\r\n" + footer + b"\r\n--mx--\r\n")
    doc = show_json(deliver(raw))
    assert doc["pgp"]["encrypted"] is True and doc["pgp"]["decrypted"] is False
    assert "only part of this message is encrypted" in doc["pgp"]["error"]
    assert "List footer" in doc["text"]


def test_expired_and_revoked_keys_are_not_good(tmp_path: Path, keys: Keys,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature by a key that has since expired or been revoked is named so, never
    plain "good"."""
    from tests.pgp.keys import copy_home

    mine = copy_home(keys.alice, tmp_path)
    try:
        mine.gpg("--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key",
                 "Old <old@example.org>", "ed25519", "sign", "1d")
        out = mine.gpg("--with-colons", "--list-keys", "old@example.org").stdout.decode()
        old = Home(mine.path, [ln.split(":")[9] for ln in out.splitlines() if ln.startswith("fpr:")][0])
        signed_by_old = made.signed(old, b"old key")
        # Bob's key revoked (his own revocation certificate, as he would publish it)
        rev = (keys.bob.path / "openpgp-revocs.d" / f"{keys.bob.fpr}.rev").read_text()
        mine.import_(rev.replace(":-----BEGIN", "-----BEGIN").encode())
        monkeypatch.setenv("GNUPGHOME", str(mine.path))
        write_config(tmp_path)
        # read seventy years later (no sleeping): the one-day key has long expired
        (mine.path / "gpg.conf").write_text("faked-system-time 20900101T000000\n")
        expired = show_json(deliver(signed_by_old))["pgp"]
        assert expired["signature"] == "expired_key" and expired["signer"] == "Old <old@example.org>"
        revoked_id = deliver(made.signed(keys.bob, b"revoked"), uid=2)
        assert show_json(revoked_id)["pgp"]["signature"] == "revoked_key"
        assert show_text(revoked_id).splitlines()[0].startswith(
            "Signature: revoked key (Bob")
    finally:
        mine.remove()


def test_smime_is_not_taken_for_pgp(config: Path, keys: Keys) -> None:
    """An S/MIME multipart/signed (not ours to check) gets no PGP verdict, even when the
    text mentions application/pgp-signature."""
    raw = made.message(b"smime", b'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
                       b' micalg=sha-256; boundary="s"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\n'
                       b"About application/pgp-signature.\r\n--s\r\n"
                       b"Content-Type: application/pkcs7-signature\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n"
                       b"--s--\r\n")
    doc = show_json(deliver(raw))
    assert doc["pgp"] is None and "About application/pgp-signature." in doc["text"]


def test_verifying_never_fetches_a_key_whatever_gpg_conf_says(tmp_path: Path, keys: Keys,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A gpg.conf asking for keys from a keyserver (here a loopback listener) is
    overridden: an unknown key stays unknown and nothing connects."""
    import socket

    from tests.pgp.keys import copy_home

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    mine = copy_home(keys.alice, tmp_path)
    try:
        (mine.path / "gpg.conf").write_text(
            f"keyserver hkp://127.0.0.1:{port}\nauto-key-retrieve\nauto-key-locate keyserver\n")
        monkeypatch.setenv("GNUPGHOME", str(mine.path))
        write_config(tmp_path)
        assert show_json(deliver(made.signed(keys.carol)))["pgp"]["signature"] == "unknown_key"
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
        mine.remove()


def test_a_headers_only_message_gets_no_verdict(config: Path, keys: Keys) -> None:
    """POP3 over max_message_size keeps only the headers: a multipart/signed without its
    body is not "bad", just not checked yet."""
    raw = made.signed(keys.bob)
    head = raw[:raw.index(b"\r\n\r\n") + 4]
    with Store(Path(os.environ["MAILCLI_DATA"])) as store:
        id = store.deliver("work", "INBOX", head, uid=1, partial=True)
    doc = show_json(id)
    assert doc["pgp"] is None and doc["partial"] is True
