"""Read config.toml with tomllib and validate it strictly into the schema.

Every problem is one ConfigError naming the file, the section/account and the key,
with a difflib "did you mean" for unknown keys.
"""
from __future__ import annotations

import difflib
import ipaddress
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from mailcli.config.schema import (
    DEFAULT_PORTS, LOOPBACK_HOSTS, PROTOCOLS, SECURITIES, AccountConfig, Config,
    GeneralConfig, Secret, SmtpConfig, TuiConfig,
)
from mailcli.errors import ConfigError

GENERAL_KEYS = {"data_dir", "editor"}
SERVER_KEYS = {"host", "port", "security", "tls_ca_file", "username", "password_command",
               "password_env", "allow_insecure", "timeout"}
ACCOUNT_KEYS = SERVER_KEYS | {
    "protocol", "email", "name", "folders", "sent_folder", "trash_folder", "drafts_folder", "leave_on_server",
    "keep_days", "delete_when_deleted_locally", "max_message_size", "smtp",
}
POP3_ONLY = {"leave_on_server", "keep_days", "delete_when_deleted_locally", "max_message_size"}
IMAP_ONLY = {"folders", "trash_folder"}
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
    _check_keys(top, data, {"general", "accounts", "tui"})
    general_raw = _table(top, data, "general")
    g = _Where(path, "general")
    _check_keys(g, general_raw, GENERAL_KEYS)
    general = GeneralConfig(
        data_dir=Path(_str(g, general_raw, "data_dir")).expanduser() if "data_dir" in general_raw else None,
        editor=_str(g, general_raw, "editor") if "editor" in general_raw else None,
    )
    tui_raw = _table(top, data, "tui")
    t = _Where(path, "tui")
    _check_keys(t, tui_raw, {"keys"})
    keys_raw = _table(t, tui_raw, "keys")
    keys = {}
    for action, key in keys_raw.items():
        if not isinstance(key, str):
            raise _Where(path, "tui.keys").error(action, f"must be a string, got {_type(key)}")
        keys[action] = key
    accounts_raw = _table(top, data, "accounts")
    accounts = {}
    for name, raw in accounts_raw.items():
        accounts[name] = _account(path, name, raw)
    return Config(path=path, general=general, accounts=accounts, tui=TuiConfig(keys=keys))


def _account(path: Path, name: str, raw: Any) -> AccountConfig:
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
    host, port, security, username, secret, ca, insecure, timeout = _server(w, raw, protocol, name, None)
    leave = _bool(w, raw, "leave_on_server", False)
    keep_days = _int(w, raw, "keep_days", None, minimum=0)
    dwdl = _bool(w, raw, "delete_when_deleted_locally", False)
    if (keep_days is not None or dwdl) and not leave:
        key = "keep_days" if keep_days is not None else "delete_when_deleted_locally"
        raise w.error(key, "needs leave_on_server = true (otherwise mail is deleted after download)")
    smtp = None
    if "smtp" in raw:
        sw = _Where(path, f"accounts.{name}.smtp")
        sraw = raw["smtp"]
        if not isinstance(sraw, dict):
            raise w.error("smtp", f"must be a table, got {_type(sraw)}")
        _check_keys(sw, sraw, SERVER_KEYS)
        s = _server(sw, sraw, "smtp", name, (username, secret))
        smtp = SmtpConfig(host=s[0], port=s[1], security=s[2], username=s[3], secret=s[4],
                          tls_ca_file=s[5] or ca, allow_insecure=s[6], timeout=s[7])
    folders = ("*",)
    if "folders" in raw:
        f = raw["folders"]
        if not isinstance(f, list) or not f or not all(isinstance(x, str) and x for x in f):
            raise w.error("folders", "must be a non-empty list of folder patterns (strings)")
        folders = tuple(f)
    return AccountConfig(
        name=name, protocol=protocol, host=host, port=port, security=security,
        username=username, secret=secret,
        email=_str(w, raw, "email") if "email" in raw else None,
        display_name=_str(w, raw, "name") if "name" in raw else None,
        tls_ca_file=ca, allow_insecure=insecure, timeout=timeout, folders=folders,
        sent_folder=_str(w, raw, "sent_folder") if "sent_folder" in raw else None,
        drafts_folder=_str(w, raw, "drafts_folder") if "drafts_folder" in raw else None,
        trash_folder=_str(w, raw, "trash_folder") if "trash_folder" in raw else None,
        leave_on_server=leave, keep_days=keep_days, delete_when_deleted_locally=dwdl,
        max_message_size=_size(w, raw, "max_message_size"), smtp=smtp,
    )


def _server(w: _Where, raw: dict[str, Any], protocol: str, account: str,
            inherit: tuple[str, Secret] | None):
    if "host" not in raw:
        raise w.error("host", "missing (the server's host name)")
    host = _str(w, raw, "host").strip()
    if not host or any(c.isspace() for c in host):
        raise w.error("host", f"not a host name: {raw['host']!r}")
    default_sec = "starttls" if protocol == "smtp" else "tls"
    security = _choice(w, raw, "security", SECURITIES) if "security" in raw else default_sec
    port = DEFAULT_PORTS[(protocol, security)]
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
        username = inherit[0]
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
        secret = inherit[1]
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
    return host, port, security, username, secret, ca, allow_insecure, float(timeout)


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_keys(w: _Where, raw: dict[str, Any], allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
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


def _bool(w: _Where, raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise w.error(key, f"must be true or false, got {value!r}")
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
