"""Read config.toml with tomllib and validate it strictly into the schema.

Every problem is one ConfigError naming the file, the section/account and the key,
with a difflib "did you mean" for unknown keys.
"""
from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailcli.config.schema import (
    AUTHS,
    DEFAULT_PORTS,
    LOOPBACK_HOSTS,
    PGP_ENCRYPT,
    PROTOCOLS,
    SECURITIES,
    TOKEN_STORES,
    AccountConfig,
    Config,
    GeneralConfig,
    IdentityConfig,
    OAuth2Config,
    Secret,
    SmtpConfig,
    TuiConfig,
    config_keys,
)
from mailcli.errors import ConfigError
from mailcli.oauth2.providers import PROVIDER_NAMES, PROVIDERS

# every known key comes from the schema's fields (the man page's lists too)
TOP_KEYS = config_keys(Config)
GENERAL_KEYS = config_keys(GeneralConfig)
TUI_KEYS = config_keys(TuiConfig)
SERVER_KEYS = config_keys(SmtpConfig)
ACCOUNT_KEYS = config_keys(AccountConfig)
POP3_ONLY = config_keys(AccountConfig, only="pop3")
IMAP_ONLY = config_keys(AccountConfig, only="imap")
OAUTH2_KEYS = config_keys(AccountConfig, only="oauth2")
IDENTITY_KEYS = config_keys(IdentityConfig)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*$", re.IGNORECASE)
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Where:
    """Formats 'file: [section] key: problem' messages."""

    def __init__(self, path: Path, section: str) -> None:
        self.path, self.section = path, section

    def error(self, key: str | None, problem: str, hint: str | None = None) -> ConfigError:
        where = f"{self.path}: [{self.section}]"
        if key:
            where += f" {key}"
        return ConfigError(f"{where}: {problem}", hint)


def load_config(path: Path, *, must_exist: bool = True) -> Config:
    """Read and validate the config file. A missing file is an error if must_exist."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(f"{path}: no config file",
                              "create it with 'mailcli account add' or see 'man 5 mailcli'") from None
        data = {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    top = _Where(path, "top level")
    _check_keys(top, data, TOP_KEYS)
    general_raw = _table(top, data, "general")
    g = _Where(path, "general")
    _check_keys(g, general_raw, GENERAL_KEYS)
    general = GeneralConfig(
        data_dir=Path(_str(g, general_raw, "data_dir")).expanduser() if "data_dir" in general_raw else None,
        editor=_str(g, general_raw, "editor") if "editor" in general_raw else None,
        address_book_command=(_str(g, general_raw, "address_book_command")
                              if "address_book_command" in general_raw else None),
        on_new_mail=_command(g, general_raw, "on_new_mail"),
        index_decrypted=_bool(g, general_raw, "index_decrypted", False),
    )
    tui_raw = _table(top, data, "tui")
    t = _Where(path, "tui")
    _check_keys(t, tui_raw, TUI_KEYS)
    keys_raw = _table(t, tui_raw, "keys")
    keys = {}
    for action, key in keys_raw.items():
        if not isinstance(key, str):
            raise _Where(path, "tui.keys").error(action, f"must be a string, got {_type(key)}")
        keys[action] = key
    accounts_raw = _table(top, data, "accounts")
    accounts = {}
    for name, raw in accounts_raw.items():
        accounts[name] = _account(path, name, raw, general.data_dir)
    tui = TuiConfig(keys=keys, mark_read_after=_delay(t, tui_raw, "mark_read_after", 2.0))
    return Config(path=path, general=general, accounts=accounts, tui=tui)


def _delay(w: _Where, raw: dict[str, Any], key: str, default: float) -> float | None:
    """A delay: "2s", "500ms", "1m", a number of seconds, or "never" (None)."""
    if key not in raw:
        return default
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise w.error(key, f"must be a duration like \"2s\" or \"never\", got {_type(value)}")
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "never":
            return None
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?", text)
        if match is None:
            raise w.error(key, f"must be a duration like \"2s\", \"500ms\" or \"never\", "
                               f"got {value!r}")
        number = float(match.group(1))
        value = {"ms": number / 1000, "m": number * 60,
                 "h": number * 3600}.get(match.group(2) or "s", number)
    if value < 0:
        raise w.error(key, "must not be negative")
    return float(value)


def _account(path: Path, name: str, raw: Any, data_dir: Path | None = None) -> AccountConfig:
    w = _Where(path, f"accounts.{name}")
    if not isinstance(raw, dict):
        raise w.error(None, f"must be a table, got {_type(raw)}")
    if not _ACCOUNT_NAME.match(name):
        raise w.error(None, "account names may use letters, digits, '.', '_' and '-' only")
    _check_keys(w, raw, ACCOUNT_KEYS)
    if "protocol" not in raw:
        raise w.error("protocol", 'missing (set protocol = "imap" or "pop3")')
    protocol = _choice(w, raw, "protocol", PROTOCOLS)
    wrong = (POP3_ONLY if protocol == "imap" else IMAP_ONLY) & raw.keys()
    if wrong:
        key = sorted(wrong)[0]
        raise w.error(key, f"only applies to {'pop3' if protocol == 'imap' else 'imap'} accounts")
    server = _server(w, raw, protocol, name, None)
    auth = _choice(w, raw, "auth", AUTHS) if "auth" in raw else "password"
    oauth2 = _oauth2(w, raw, server.host, server.security, data_dir) if auth == "oauth2" else None
    if oauth2 is None and OAUTH2_KEYS & raw.keys():
        raise w.error(sorted(OAUTH2_KEYS & raw.keys())[0], 'only applies with auth = "oauth2"')
    leave = _bool(w, raw, "leave_on_server", False)
    keep_days = _int(w, raw, "keep_days", None, minimum=0)
    dwdl = _bool(w, raw, "delete_when_deleted_locally", False)
    if (keep_days is not None or dwdl) and not leave:
        key = "keep_days" if keep_days is not None else "delete_when_deleted_locally"
        raise w.error(key, "needs leave_on_server = true (otherwise mail is deleted after download)")
    smtp = _smtp(w, _Where(path, f"accounts.{name}.smtp"), raw, name, server)
    identities = _identities(path, w, raw, name, server)
    aliases: tuple[str, ...] = ()
    if "aliases" in raw:
        a = raw["aliases"]
        if not isinstance(a, list) or not all(isinstance(x, str) and "@" in x for x in a):
            raise w.error("aliases", 'must be a list of address patterns such as "*@example.org"')
        aliases = tuple(x.strip().lower() for x in a)
    watch_folders = ("INBOX",)
    if "watch_folders" in raw:
        wf = raw["watch_folders"]
        if not isinstance(wf, list) or not wf or not all(isinstance(x, str) and x for x in wf):
            raise w.error("watch_folders", "must be a non-empty list of folder patterns (strings)")
        watch_folders = tuple(wf)
    poll = _delay(w, raw, "poll_interval", 300.0)
    if poll is None or poll < 1:
        raise w.error("poll_interval", 'must be a duration of at least 1 s, like "5m" or "30s"')
    folders = ("*",)
    if "folders" in raw:
        f = raw["folders"]
        if not isinstance(f, list) or not f or not all(isinstance(x, str) and x for x in f):
            raise w.error("folders", "must be a non-empty list of folder patterns (strings)")
        folders = tuple(f)
    return AccountConfig(
        name=name, protocol=protocol, host=server.host, port=server.port,
        security=server.security, username=server.username, secret=server.secret,
        email=_str(w, raw, "email") if "email" in raw else None,
        display_name=_str(w, raw, "name") if "name" in raw else None,
        tls_ca_file=server.tls_ca_file, allow_insecure=server.allow_insecure,
        timeout=server.timeout, folders=folders,
        sent_folder=_str(w, raw, "sent_folder") if "sent_folder" in raw else None,
        drafts_folder=_str(w, raw, "drafts_folder") if "drafts_folder" in raw else None,
        trash_folder=_str(w, raw, "trash_folder") if "trash_folder" in raw else None,
        server_saves_sent=_bool_or_auto(w, raw, "server_saves_sent"),
        leave_on_server=leave, keep_days=keep_days, delete_when_deleted_locally=dwdl,
        max_message_size=_size(w, raw, "max_message_size"), smtp=smtp,
        auth=auth, oauth2=oauth2, **_signature(w, raw),
        signature_above_quote=_bool(w, raw, "signature_above_quote", False),
        aliases=aliases, identities=identities, watch_folders=watch_folders,
        poll_interval=poll, on_new_mail=_command(w, raw, "on_new_mail"),
        pgp_sign=_bool(w, raw, "pgp_sign", False),
        pgp_encrypt=_choice(w, raw, "pgp_encrypt", PGP_ENCRYPT) if "pgp_encrypt" in raw else "never",
        pgp_key=_pgp_key(w, raw),
    )


def _pgp_key(w: _Where, raw: dict[str, Any]) -> str | None:
    """pgp_key: a fingerprint or key ID (hex, optionally 0x-prefixed), or a user ID/address."""
    if "pgp_key" not in raw:
        return None
    value = _str(w, raw, "pgp_key").strip()
    if not value or value.startswith("-") or any(c in value for c in "\r\n\x00"):
        raise w.error("pgp_key", "must be a key fingerprint, key ID or address")
    return value


def _smtp(w: _Where, sw: _Where, raw: dict[str, Any], name: str,
          server: _Server) -> SmtpConfig | None:
    if "smtp" not in raw:
        return None
    sraw = raw["smtp"]
    if not isinstance(sraw, dict):
        raise w.error("smtp", f"must be a table, got {_type(sraw)}")
    _check_keys(sw, sraw, SERVER_KEYS)
    s = _server(sw, sraw, "smtp", name, server)
    return SmtpConfig(host=s.host, port=s.port, security=s.security, username=s.username,
                      secret=s.secret, tls_ca_file=s.tls_ca_file or server.tls_ca_file,
                      allow_insecure=s.allow_insecure, timeout=s.timeout)


def _signature(w: _Where, raw: dict[str, Any]) -> dict[str, Any]:
    """signature (text) or signature_file (must exist), not both."""
    if "signature" in raw and "signature_file" in raw:
        raise w.error("signature_file", "set only one of signature and signature_file")
    if "signature_file" in raw:
        sig = Path(_str(w, raw, "signature_file")).expanduser()
        if not sig.is_file():
            raise w.error("signature_file", f"no such file: {sig}")
        return {"signature_file": sig}
    return {"signature": _str(w, raw, "signature")} if "signature" in raw else {}


def _identities(path: Path, w: _Where, raw: dict[str, Any], name: str,
                server: _Server) -> tuple[IdentityConfig, ...]:
    """[[accounts.NAME.identities]]: email required; smtp inherits the account's login."""
    if "identities" not in raw:
        return ()
    items = raw["identities"]
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise w.error("identities", "must be a list of tables ([[accounts."
                      f"{name}.identities]] with email = ...)")
    out = []
    for n, item in enumerate(items, 1):
        iw = _Where(path, f"accounts.{name}.identities #{n}")
        _check_keys(iw, item, IDENTITY_KEYS)
        if "email" not in item:
            raise iw.error("email", "missing (the address this identity sends from)")
        addr = _str(iw, item, "email").strip()
        if "@" not in addr or any(c.isspace() for c in addr):
            raise iw.error("email", f"not an email address: {addr!r}")
        out.append(IdentityConfig(
            email=addr, display_name=_str(iw, item, "name") if "name" in item else None,
            smtp=_smtp(iw, _Where(path, f"accounts.{name}.identities #{n}.smtp"), item, name,
                       server),
            sent_folder=_str(iw, item, "sent_folder") if "sent_folder" in item else None,
            pgp_sign=_bool(iw, item, "pgp_sign", False) if "pgp_sign" in item else None,
            pgp_encrypt=_choice(iw, item, "pgp_encrypt", PGP_ENCRYPT) if "pgp_encrypt" in item else None,
            pgp_key=_pgp_key(iw, item),
            **_signature(iw, item)))
    return tuple(out)


@dataclass(frozen=True)
class _Server:
    """The keys an account and its SMTP section share, validated."""

    host: str
    port: int
    security: str
    username: str
    secret: Secret
    tls_ca_file: Path | None
    allow_insecure: bool
    timeout: float


def _oauth2(w: _Where, raw: dict[str, Any], host: str, security: str,
            data_dir: Path | None) -> OAuth2Config:
    """The oauth2_* keys, provider presets filled in. A bearer token is as good as a
    password for its lifetime: never in clear text to a non-loopback host, whatever
    allow_insecure says."""
    if security == "none" and not _is_loopback(host):
        raise w.error("security", f'auth = "oauth2" never sends a token in clear text to {host}',
                      'use security = "tls" or "starttls"')
    strs = {k: _str(w, raw, k) for k in OAUTH2_KEYS - {"oauth2_scopes"} if k in raw}
    store = "keyring"
    if "oauth2_token_store" in raw:
        store = _choice(w, raw, "oauth2_token_store", TOKEN_STORES)
    if "oauth2_client_secret" in raw and "oauth2_client_secret_command" in raw:
        raise w.error("oauth2_client_secret_command",
                      "set only one of oauth2_client_secret and oauth2_client_secret_command")
    command = strs.get("oauth2_token_command")
    if command is not None and not command.strip():
        raise w.error("oauth2_token_command", "is empty")
    provider = _choice(w, raw, "oauth2_provider", PROVIDER_NAMES) if "oauth2_provider" in raw else None
    if command and provider is None:
        return OAuth2Config(token_command=command, token_store=store, data_dir=data_dir)
    if provider is None:
        raise w.error("oauth2_provider", 'missing (set oauth2_provider = "google", "microsoft" or '
                      '"custom", or oauth2_token_command)')
    preset = PROVIDERS.get(provider, {})
    client_id = strs.get("oauth2_client_id", "").strip()
    if not client_id:
        raise w.error("oauth2_client_id", "missing (the client id you registered with the provider)",
                      "see the README: 'OAuth2: registering a client id'")
    urls: dict[str, str | None] = {}
    for what in ("authorize", "token", "device"):
        key = f"oauth2_{what}_url"
        url = strs.get(key) or preset.get(f"{what}_url")
        if url is None and what != "device":
            raise w.error(key, f'missing (oauth2_provider = "{provider}" needs the {what} endpoint)')
        if url is not None:
            _check_url(w, key, url)
        urls[what] = url
    scopes = tuple(preset.get("scopes", ()))
    if "oauth2_scopes" in raw:
        sc = raw["oauth2_scopes"]
        if not isinstance(sc, list) or not sc or not all(isinstance(x, str) and x.strip() for x in sc):
            raise w.error("oauth2_scopes", "must be a non-empty list of scopes (strings)")
        scopes = tuple(x.strip() for x in sc)
    if not scopes:
        raise w.error("oauth2_scopes", f'missing (oauth2_provider = "{provider}" needs the scopes)')
    return OAuth2Config(
        provider=provider, client_id=client_id, client_secret=strs.get("oauth2_client_secret"),
        client_secret_command=strs.get("oauth2_client_secret_command"),
        authorize_url=urls["authorize"] or "", token_url=urls["token"] or "",
        device_url=urls["device"], scopes=scopes,
        authorize_params=tuple(sorted(preset.get("authorize_params", {}).items())),
        token_store=store, token_command=command, data_dir=data_dir)


def _check_url(w: _Where, key: str, url: str) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("https", "http") or not host:
        raise w.error(key, f"not an http(s) URL: {url!r}")
    if parts.scheme == "http" and not _is_loopback(host):
        raise w.error(key, f"http:// only for a loopback host, got {url!r}", "use https://")


def _server(w: _Where, raw: dict[str, Any], protocol: str, account: str,
            inherit: _Server | None) -> _Server:
    """The server keys of `raw`; an SMTP section (`inherit` = its account's) takes the
    account's username and password source unless it sets its own."""
    if "host" not in raw:
        raise w.error("host", "missing (the server's host name)")
    host = _str(w, raw, "host").strip()
    if not host or any(c.isspace() for c in host):
        raise w.error("host", f"not a host name: {raw['host']!r}")
    default_sec = "starttls" if protocol == "smtp" else "tls"
    security = _choice(w, raw, "security", SECURITIES) if "security" in raw else default_sec
    port: int = DEFAULT_PORTS[(protocol, security)]
    if "port" in raw:
        port = raw["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise w.error("port", f"must be a whole number from 1 to 65535, got {port!r}")
    allow_insecure = _bool(w, raw, "allow_insecure", False)
    if security == "none" and not allow_insecure and not _is_loopback(host):
        raise w.error("security", f'"none" sends the password in clear text to {host}',
                      'use "tls" or "starttls", or set allow_insecure = true if you really mean it')
    if "username" in raw:
        username = _str(w, raw, "username")
    elif inherit:
        username = inherit.username
    else:
        raise w.error("username", "missing (the login name)")
    if "password_command" in raw and "password_env" in raw:
        raise w.error("password_env", "set only one of password_command and password_env")
    if "password_command" in raw or "password_env" in raw:
        secret = Secret(
            command=_str(w, raw, "password_command") if "password_command" in raw else None,
            env=_str(w, raw, "password_env") if "password_env" in raw else None,
            keyring_user=f"{account}" if protocol != "smtp" else f"{account}.smtp",
        )
    elif inherit:
        secret = inherit.secret
    else:
        secret = Secret(keyring_user=account)
    ca = None
    if "tls_ca_file" in raw:
        ca = Path(_str(w, raw, "tls_ca_file")).expanduser()
        if not ca.is_file():
            raise w.error("tls_ca_file", f"no such file: {ca}")
    timeout = raw.get("timeout", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0 \
            or not math.isfinite(timeout):  # nan passes `<= 0`, inf would wait forever
        raise w.error("timeout", f"must be a positive number of seconds, got {timeout!r}")
    return _Server(host, port, security, username, secret, ca, allow_insecure, float(timeout))


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_keys(w: _Where, raw: dict[str, Any], allowed: Set[str]) -> None:
    for key in raw:
        if key not in allowed:
            import difflib  # only for a mistake (start-up time, issue 15)

            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"did you mean {close[0]!r}?" if close else None
            msg = f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            raise w.error(key, msg.split(": ", 1)[-1], None if close else hint)


def _type(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "true/false",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _table(w: _Where, raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise w.error(key, f"must be a table, got {_type(value)}")
    return value


def _str(w: _Where, raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise w.error(key, f"must be a string, got {_type(value)}")
    return value


def _command(w: _Where, raw: dict[str, Any], key: str) -> str | None:
    """A shell command (a non-empty string), or None when the key is absent."""
    if key not in raw:
        return None
    value = _str(w, raw, key)
    if not value.strip():
        raise w.error(key, "is empty (remove the key, or give a command)")
    return value


def _bool(w: _Where, raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise w.error(key, f"must be true or false, got {value!r}")
    return value


def _bool_or_auto(w: _Where, raw: dict[str, Any], key: str) -> bool | None:
    """true, false or "auto" (the default): None for auto."""
    value = raw.get(key, "auto")
    if isinstance(value, str) and value.lower() == "auto":
        return None
    if not isinstance(value, bool):
        raise w.error(key, f'must be true, false or "auto", got {value!r}')
    return value


def _int(w: _Where, raw: dict[str, Any], key: str, default: int | None, minimum: int = 0) -> int | None:
    if key not in raw:
        return default
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise w.error(key, f"must be a whole number >= {minimum}, got {value!r}")
    return value


def _choice(w: _Where, raw: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = raw[key]
    if not isinstance(value, str) or value.lower() not in choices:
        import difflib

        close = difflib.get_close_matches(str(value), choices, n=1)
        extra = f" (did you mean {close[0]!r}?)" if close else ""
        raise w.error(key, f"must be one of {', '.join(repr(c) for c in choices)}, got {value!r}{extra}")
    return value.lower()


def _size(w: _Where, raw: dict[str, Any], key: str) -> int | None:
    if key not in raw:
        return None
    value = raw[key]
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            return int(float(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(2).upper()])
    raise w.error(key, f'must be a size such as "20MB" or a number of bytes, got {value!r}')
