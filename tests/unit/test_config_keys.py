"""The schema is the one list of config keys: every key the loader knows fills a schema
field (and every field but the table name has a key), and the man page lists them all."""
from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from mailcli.config import parse_config
from mailcli.config.loader import ACCOUNT_KEYS, GENERAL_KEYS, OAUTH2_KEYS, SERVER_KEYS, TOP_KEYS
from mailcli.config.schema import AccountConfig, IdentityConfig, Secret, SmtpConfig

ROOT = Path(__file__).resolve().parents[2]
CA = ROOT / "tests" / "unit" / "test_config_keys.py"    # any existing file will do
BASE = {"protocol": "imap", "host": "h.example", "username": "u"}
POP3 = {"protocol": "pop3"}
LEAVE = {"protocol": "pop3", "leave_on_server": True}

# TOML key -> (the account table's other keys, the schema field it fills, expected value)
SAMPLES: dict[str, tuple[dict[str, Any], str, Any]] = {
    "protocol": (POP3, "protocol", "pop3"),
    "host": ({}, "host", "mail.example.org"),
    "port": ({}, "port", 1993),
    "security": ({}, "security", "starttls"),
    "tls_ca_file": ({}, "tls_ca_file", CA),
    "username": ({}, "username", "someone"),
    "password_command": ({}, "secret", Secret(command="pass mail", keyring_user="work")),
    "password_env": ({}, "secret", Secret(env="MAIL_PW", keyring_user="work")),
    "allow_insecure": ({}, "allow_insecure", True),
    "timeout": ({}, "timeout", 5.0),
    "email": ({}, "email", "me@example.org"),
    "name": ({}, "display_name", "Me Myself"),
    "folders": ({}, "folders", ("INBOX", "Lists/*")),
    "sent_folder": ({}, "sent_folder", "Gesendet"),
    "trash_folder": ({}, "trash_folder", "Papierkorb"),
    "drafts_folder": ({}, "drafts_folder", "Entwürfe"),
    "server_saves_sent": ({}, "server_saves_sent", True),
    "leave_on_server": (POP3, "leave_on_server", True),
    "keep_days": (LEAVE, "keep_days", 3),
    "delete_when_deleted_locally": (LEAVE, "delete_when_deleted_locally", True),
    "max_message_size": (POP3, "max_message_size", 2048),
    "auth": ({"oauth2_token_command": "oama access u"}, "auth", "oauth2"),
    "signature": ({}, "signature", "Me\nPhone 123"),
    "signature_file": ({}, "signature_file", CA),
    "signature_above_quote": ({}, "signature_above_quote", True),
    "aliases": ({}, "aliases", ("*@example.org", "me+*@example.net")),
    "identities": ({}, "identities", (IdentityConfig(email="me@example.net", display_name="Me at Home",
                                                     sent_folder="Sent Home"),)),
    "smtp": ({}, "smtp", SmtpConfig(host="smtp.example", port=587, security="starttls",
                                    username="u", secret=Secret(keyring_user="work"))),
    "watch_folders": ({}, "watch_folders", ("INBOX", "Lists/*")),
    "poll_interval": ({}, "poll_interval", 90.0),
    "on_new_mail": ({}, "on_new_mail", "notify-send mail"),
    "pgp_sign": ({}, "pgp_sign", True),
    "pgp_encrypt": ({}, "pgp_encrypt", "if-possible"),
    "pgp_key": ({}, "pgp_key", "0x1234ABCD1234ABCD"),
}
TOML = {"tls_ca_file": str(CA), "folders": ["INBOX", "Lists/*"], "max_message_size": "2KB",
        "watch_folders": ["INBOX", "Lists/*"], "poll_interval": "1.5m",
        "smtp": {"host": "smtp.example"}, "timeout": 5, "password_command": "pass mail",
        "password_env": "MAIL_PW", "signature_file": str(CA),
        "aliases": ["*@example.org", "me+*@example.net"],
        "identities": [{"email": "me@example.net", "name": "Me at Home", "sent_folder": "Sent Home"}]}


# oauth2_* key -> (its value in TOML, the OAuth2Config field it fills, expected value)
OAUTH2_SAMPLES: dict[str, tuple[Any, str, Any]] = {
    "oauth2_provider": ("google", "provider", "google"),
    "oauth2_client_id": ("cid", "client_id", "cid"),
    "oauth2_client_secret": ("sec", "client_secret", "sec"),
    "oauth2_client_secret_command": ("pass sec", "client_secret_command", "pass sec"),
    "oauth2_authorize_url": ("https://id.example/auth", "authorize_url", "https://id.example/auth"),
    "oauth2_token_url": ("https://id.example/token", "token_url", "https://id.example/token"),
    "oauth2_device_url": ("https://id.example/dev", "device_url", "https://id.example/dev"),
    "oauth2_scopes": (["a", "b"], "scopes", ("a", "b")),
    "oauth2_token_store": ("file", "token_store", "file"),
    "oauth2_token_command": ("oama access u", "token_command", "oama access u"),
}
CUSTOM = {"auth": "oauth2", "oauth2_provider": "custom", "oauth2_client_id": "cid",
          "oauth2_authorize_url": "https://id.example/a", "oauth2_token_url": "https://id.example/t",
          "oauth2_scopes": ["s"]}


@pytest.mark.parametrize("key", sorted(OAUTH2_SAMPLES))
def test_each_oauth2_key_fills_its_field(key: str) -> None:
    toml, field, value = OAUTH2_SAMPLES[key]
    extra = {"oauth2_client_id": "cid"} if key == "oauth2_provider" else CUSTOM
    cfg = parsed({**BASE, **extra, "auth": "oauth2", key: toml})
    assert cfg.oauth2 is not None and getattr(cfg.oauth2, field) == value


def parsed(raw: dict[str, Any]) -> AccountConfig:
    return parse_config({"accounts": {"work": raw}}, Path("config.toml")).account("work")


def test_the_loader_knows_exactly_the_schemas_keys() -> None:
    assert set(SAMPLES) == ACCOUNT_KEYS - OAUTH2_KEYS
    filled = {field for _extra, field, _value in SAMPLES.values()}
    assert filled == {f.name for f in fields(AccountConfig)} - {"name", "oauth2"}
    assert OAUTH2_KEYS == set(OAUTH2_SAMPLES)
    assert SERVER_KEYS == ACCOUNT_KEYS & {k for k, (_e, f, _v) in SAMPLES.items()
                                          if f in {g.name for g in fields(SmtpConfig)}}
    assert TOP_KEYS == {"general", "accounts", "tui"} and GENERAL_KEYS == {"data_dir", "editor",
                                                                        "address_book_command",
                                                                        "on_new_mail",
                                                                        "index_decrypted"}


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_each_key_fills_its_field(key: str) -> None:
    extra, field, value = SAMPLES[key]
    default = next(f.default for f in fields(AccountConfig) if f.name == field)
    assert value != default
    raw = {**BASE, **extra, key: TOML.get(key, value)}
    assert getattr(parsed(raw), field) == value


def test_the_man_page_lists_and_describes_every_key() -> None:
    page = (ROOT / "man" / "mailcli.5").read_text()
    sections = dict(re.findall(r"^\.SH (\S+)\n(.*?)(?=^\.SH |\Z)", page, re.M | re.S))

    def listed(section: str) -> set[str]:
        line = re.search(r"^Keys: (.*?)\.\s", sections[section], re.M | re.S)
        assert line, f"{section} has no Keys: line"
        return set(line.group(1).replace("\n", " ").split(", "))

    assert listed("[general]") == GENERAL_KEYS
    assert listed("[accounts.NAME]") == ACCOUNT_KEYS
    assert listed("[accounts.NAME.smtp]") == SERVER_KEYS
    described = {k.strip() for line in re.findall(r"^\.B (.*)$", sections["[accounts.NAME]"], re.M)
                 for k in line.split(",")}
    assert ACCOUNT_KEYS - {"smtp"} <= described, ACCOUNT_KEYS - described
    assert "[accounts.NAME.smtp]" in sections
