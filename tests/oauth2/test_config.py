"""The auth/oauth2_* config keys: presets filled in, and every mistake one line naming
the key (exit 2)."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from mailcli.config.loader import parse_config
from mailcli.errors import ConfigError
from tests.helpers import invoke

BASE = '[accounts.g]\nprotocol = "imap"\nhost = "imap.gmail.com"\nusername = "me@gmail.com"\n'


def _parse(extra: str):
    return parse_config(tomllib.loads(BASE + extra), Path("/c.toml")).account("g")


def test_google_preset_fills_endpoints_and_scopes() -> None:
    acc = _parse('auth = "oauth2"\noauth2_provider = "google"\noauth2_client_id = "1.apps"\n')
    o = acc.oauth2
    assert acc.auth == "oauth2" and o is not None
    assert o.token_url == "https://oauth2.googleapis.com/token"
    assert o.scopes == ("https://mail.google.com/",) and o.token_store == "keyring"
    assert ("access_type", "offline") in o.authorize_params


def test_microsoft_preset_asks_for_offline_access_and_all_three_protocols() -> None:
    o = _parse('auth = "oauth2"\noauth2_provider = "microsoft"\noauth2_client_id = "abc"\n'
               'oauth2_token_store = "file"\n').oauth2
    assert o is not None and "offline_access" in o.scopes and o.token_store == "file"
    assert {s.rsplit("/", 1)[-1] for s in o.scopes} >= {"IMAP.AccessAsUser.All",
                                                       "POP.AccessAsUser.All", "SMTP.Send"}


@pytest.mark.parametrize("extra, key, words", [
    ('auth = "oauth2"\noauth2_provider = "google"\n', "oauth2_client_id", "missing"),
    ('auth = "oauth2"\noauth2_client_id = "x"\n', "oauth2_provider", "missing"),
    ('auth = "oauth2"\noauth2_provider = "gogle"\noauth2_client_id = "x"\n', "oauth2_provider", "did you mean 'google'"),
    ('auth = "oauth2"\noauth2_provider = "custom"\noauth2_client_id = "x"\n', "oauth2_authorize_url", "missing"),
    ('auth = "oauth2"\noauth2_provider = "custom"\noauth2_client_id = "x"\noauth2_authorize_url = '
     '"http://auth.example.org/a"\noauth2_token_url = "https://x/t"\noauth2_scopes = ["m"]\n',
     "oauth2_authorize_url", "http:// only for a loopback host"),
    ('auth = "oauth2"\noauth2_provider = "custom"\noauth2_client_id = "x"\noauth2_authorize_url = '
     '"https://a/a"\noauth2_token_url = "ftp://x/t"\noauth2_scopes = ["m"]\n', "oauth2_token_url", "not an http(s) URL"),
    ('auth = "oauth2"\noauth2_provider = "google"\noauth2_client_id = "x"\noauth2_scopes = []\n',
     "oauth2_scopes", "non-empty list"),
    ('auth = "oauth2"\noauth2_provider = "google"\noauth2_client_id = "x"\noauth2_token_store = "disk"\n',
     "oauth2_token_store", "must be one of"),
    ('auth = "oauth2"\noauth2_provider = "google"\noauth2_client_id = "x"\noauth2_client_secret = "s"\n'
     'oauth2_client_secret_command = "pass x"\n', "oauth2_client_secret_command", "only one"),
    ('oauth2_client_id = "x"\n', "oauth2_client_id", 'only applies with auth = "oauth2"'),
    ('auth = "oauth"\n', "auth", "did you mean 'oauth2'"),
    ('auth = "oauth2"\noauth2_token_command = "oama access me"\nsecurity = "none"\nallow_insecure = true\n',
     "security", "never sends a token in clear text"),
])
def test_mistakes_are_one_error_naming_the_key(extra: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(extra)
    assert f"[accounts.g] {key}: " in info.value.message and words in info.value.message


def test_token_command_alone_is_enough() -> None:
    o = _parse('auth = "oauth2"\noauth2_token_command = "oama access me@gmail.com"\n').oauth2
    assert o is not None and o.token_command == "oama access me@gmail.com" and o.client_id == ""


def test_loopback_http_endpoints_are_allowed() -> None:
    o = _parse('auth = "oauth2"\noauth2_provider = "custom"\noauth2_client_id = "x"\n'
               'oauth2_authorize_url = "http://127.0.0.1:8080/a"\n'
               'oauth2_token_url = "http://localhost:8080/t"\noauth2_scopes = ["mail"]\n').oauth2
    assert o is not None and o.device_url is None


def test_cli_reports_a_missing_client_id_in_one_line() -> None:
    Path(os.environ["MAILCLI_CONFIG"]).write_text(BASE + 'auth = "oauth2"\noauth2_provider = "microsoft"\n')
    r = invoke("fetch")
    assert r.exit_code == 2, r
    first = r.stderr.splitlines()[0]
    assert first.startswith("mailcli: error: ") and "oauth2_client_id: missing" in first
