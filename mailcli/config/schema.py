"""The typed, frozen config schema: what each section may hold, defaults and port rules.

The schema is the one list of config keys: each field's TOML key is its name unless its
metadata says otherwise (`keys`: the TOML keys that fill it, none for a field that is not
written as a key; `only`: the one protocol it applies to). `config_keys()` derives the
loader's known keys and the man page's key lists from it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROTOCOLS = ("imap", "pop3")
SECURITIES = ("tls", "starttls", "none")
DEFAULT_PORTS = {
    ("imap", "tls"): 993, ("imap", "starttls"): 143, ("imap", "none"): 143,
    ("pop3", "tls"): 995, ("pop3", "starttls"): 110, ("pop3", "none"): 110,
    ("smtp", "tls"): 465, ("smtp", "starttls"): 587, ("smtp", "none"): 25,
}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "localhost.localdomain")
AUTHS = ("password", "oauth2")
PGP_ENCRYPT = ("never", "if-possible", "always")   # pgp_encrypt: when mail is encrypted
TOKEN_STORES = ("keyring", "file")


@dataclass(frozen=True)
class Secret:
    """Where a password comes from: never the password itself."""

    command: str | None = None
    env: str | None = None
    keyring_user: str = ""


def _keys(*keys: str) -> Mapping[str, Any]:
    return {"keys": keys}


def _only(protocol: str) -> Mapping[str, Any]:
    return {"only": protocol}


_PASSWORD_KEYS = _keys("password_command", "password_env")
# the TOML keys of an account's OAuth2Config (auth = "oauth2"): oauth2_<field>, less data_dir
# (from [general]) and authorize_params (from the provider preset)
OAUTH2_KEYS = ("oauth2_provider", "oauth2_client_id", "oauth2_client_secret",
               "oauth2_client_secret_command", "oauth2_authorize_url", "oauth2_token_url",
               "oauth2_device_url", "oauth2_scopes", "oauth2_token_store", "oauth2_token_command")


@dataclass(frozen=True)
class OAuth2Config:
    """An account's OAuth2 settings, provider presets already filled in. With
    `token_command` set, the rest may be empty: the command prints the access token."""

    provider: str = "custom"
    client_id: str = ""
    client_secret: str | None = None
    client_secret_command: str | None = None
    authorize_url: str = ""
    token_url: str = ""
    device_url: str | None = None
    scopes: tuple[str, ...] = ()
    authorize_params: tuple[tuple[str, str], ...] = ()
    token_store: str = "keyring"
    token_command: str | None = None
    data_dir: Path | None = None       # [general] data_dir, for the file store's place


@dataclass(frozen=True)
class SmtpConfig:
    """An account's [accounts.NAME.smtp] table: where its mail is sent."""

    host: str
    port: int
    security: str
    username: str
    secret: Secret = field(metadata=_PASSWORD_KEYS)
    tls_ca_file: Path | None = None
    allow_insecure: bool = False
    timeout: float = 60.0


@dataclass(frozen=True)
class IdentityConfig:
    """One more From address of an account ([[accounts.NAME.identities]]): what it does
    not set (signature, SMTP server, Sent folder) comes from the account."""

    email: str
    display_name: str | None = field(default=None, metadata=_keys("name"))
    signature: str | None = None
    signature_file: Path | None = None
    smtp: SmtpConfig | None = None
    sent_folder: str | None = None
    pgp_sign: bool | None = None                 # None: the account's
    pgp_encrypt: str | None = None               # None: the account's
    pgp_key: str | None = None                   # None: the account's, else found by address


@dataclass(frozen=True)
class AccountConfig:
    """One [accounts.NAME] table, validated (SPEC.md "Config")."""

    name: str = field(metadata=_keys())          # the table's name: [accounts.NAME]
    protocol: str
    host: str
    port: int
    security: str
    username: str
    secret: Secret = field(metadata=_PASSWORD_KEYS)
    email: str | None = None
    display_name: str | None = field(default=None, metadata=_keys("name"))
    tls_ca_file: Path | None = None
    allow_insecure: bool = False
    timeout: float = 60.0
    folders: tuple[str, ...] = field(default=("*",), metadata=_only("imap"))
    sent_folder: str | None = None
    trash_folder: str | None = field(default=None, metadata=_only("imap"))
    drafts_folder: str | None = None
    # the SMTP server files what it sends into Sent itself (Gmail, Microsoft 365): no APPEND.
    # None ("auto"): found out at the first send (mailcli.send.sentcheck)
    server_saves_sent: bool | None = field(default=None, metadata=_only("imap"))
    leave_on_server: bool = field(default=False, metadata=_only("pop3"))
    keep_days: int | None = field(default=None, metadata=_only("pop3"))
    delete_when_deleted_locally: bool = field(default=False, metadata=_only("pop3"))
    max_message_size: int | None = field(default=None, metadata=_only("pop3"))
    smtp: SmtpConfig | None = None
    auth: str = "password"
    oauth2: OAuth2Config | None = field(default=None,
                                       metadata={**_keys(*OAUTH2_KEYS), "only": "oauth2"})
    signature: str | None = None                 # RFC 3676 "-- " block under what you write
    signature_file: Path | None = None
    signature_above_quote: bool = False          # in replies/forwards: above the quote
    aliases: tuple[str, ...] = ()                # address patterns that are also you
    identities: tuple[IdentityConfig, ...] = ()  # [[accounts.NAME.identities]]
    # `mailcli watch`: folders pushed by IDLE/NOTIFY (globs), how often the rest (and
    # POP3) is checked (seconds), and the new-mail hook (overrides [general] on_new_mail)
    watch_folders: tuple[str, ...] = field(default=("INBOX",), metadata=_only("imap"))
    poll_interval: float = 300.0
    on_new_mail: str | None = None
    # PGP/MIME through GnuPG: sign what is sent; encrypt "never", "if-possible" (every
    # recipient has a valid key) or "always" (refuse to send without); the signing key
    # (a fingerprint or key ID; default: the secret key whose user ID has the From address)
    pgp_sign: bool = False
    pgp_encrypt: str = "never"
    pgp_key: str | None = None


@dataclass(frozen=True)
class GeneralConfig:
    """The [general] table."""

    data_dir: Path | None = None
    editor: str | None = None
    address_book_command: str | None = None      # `address<TAB>name` lines, merged into contacts
    on_new_mail: str | None = None               # `mailcli watch`'s new-mail hook (shell command)
    # PGP: text decrypted for reading also goes into the search index (default: never)
    index_decrypted: bool = False


@dataclass(frozen=True)
class TuiConfig:
    """The [tui] table."""

    keys: dict[str, str] = field(default_factory=dict)
    # seconds the preview must stay on an unread message before it is marked read;
    # None ("never"): only opening it (Enter) marks it read
    mark_read_after: float | None = 2.0


@dataclass(frozen=True)
class Config:
    """The whole config file, validated; `accounts` in file order."""

    path: Path = field(metadata=_keys())         # where it was read from, not a key
    general: GeneralConfig
    accounts: dict[str, AccountConfig]
    tui: TuiConfig = field(default_factory=TuiConfig)

    def account(self, name: str) -> AccountConfig:
        from mailcli.errors import NotFoundError

        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none configured"
            raise NotFoundError(f"no account named {name!r} (accounts: {known})") from None


def config_keys(section: type, only: str | None = None) -> frozenset[str]:
    """The TOML keys of a schema section (a dataclass above); with `only`, just the keys
    that apply to that one protocol alone."""
    return frozenset(key for f in fields(section)
                     if only is None or f.metadata.get("only") == only
                     for key in f.metadata.get("keys", (f.name,)))
