"""Token stores and SASL encoding: the keyring store (default) round trip through a real
keyring backend, an unusable keyring failing before the sign-in with the file-store
hint, a damaged grant file being exit 3 + hint, and the exact SASL messages."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from mailcli.accounts import sasl
from mailcli.redact import redact
from tests.cli.conftest import make_message
from tests.helpers import invoke
from tests.servers.dovecot import Dovecot
from tests.servers.oauth2 import OAuth2Server


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    saved = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(saved)


def test_keyring_store_round_trip(oauth: OAuth2Server, oauth2_dovecot: Dovecot, oauth_account,
                                  memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    from tests.oauth2.test_authorize import Browser

    b = Browser()
    monkeypatch.setattr(webbrowser, "open", b.open)
    user = oauth_account("imap", store="keyring")
    r = invoke("account", "authorize", "work")
    b.wait()
    assert r.exit_code == 0, r
    assert "system keyring" in r.stdout
    stored = json.loads(memory_keyring.items[("mailcli", "work.oauth2")])
    assert stored["refresh_token"] in oauth.grants
    assert not (Path(os.environ["MAILCLI_DATA"]) / "oauth2").exists()
    oauth2_dovecot.deliver(user, make_message("keyring grant"))
    r = invoke("fetch", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["accounts"][0]["new"] == 1, r


def test_unusable_keyring_fails_before_the_sign_in(oauth: OAuth2Server, oauth_account,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    oauth_account("imap", store="keyring")        # conftest: a keyring backend that fails
    r = invoke("account", "authorize", "work")
    assert r.exit_code == 2, r
    assert "keyring is not usable" in r.stderr and 'oauth2_token_store = "file"' in r.stderr
    assert opened == [] and oauth.requests == []


def test_damaged_grant_file_is_exit_3_with_hint(oauth_account) -> None:
    oauth_account("imap")
    f = Path(os.environ["MAILCLI_DATA"]) / "oauth2" / "work.json"
    f.parent.mkdir(parents=True)
    f.write_text("{not json")
    r = invoke("account", "test", "work")
    assert r.exit_code == 3, r
    assert "damaged" in r.stderr and "mailcli account authorize work" in r.stderr


def test_sasl_messages_are_exact_and_redacted() -> None:
    xo = sasl.initial_response("XOAUTH2", "me@example.org", "tok-123456", "h", 993)
    assert xo == b"user=me@example.org\x01auth=Bearer tok-123456\x01\x01"
    ob = sasl.initial_response("OAUTHBEARER", "a,b=c@example.org", "tok-123456", "imap.x", 993)
    assert ob == b"n,a=a=2Cb=3Dc@example.org,\x01host=imap.x\x01port=993\x01auth=Bearer tok-123456\x01\x01"
    for blob in (xo, ob):
        enc = base64.b64encode(blob).decode()
        assert enc not in redact(f"C: a1 AUTHENTICATE XOAUTH2 {enc}") and "********" in redact(enc)
    assert sasl.choose(["PLAIN", "XOAUTH2", "OAUTHBEARER"]) == "OAUTHBEARER"
    assert sasl.choose(["PLAIN", "XOAUTH2"]) == "XOAUTH2"
    assert sasl.choose([]) == "XOAUTH2"
