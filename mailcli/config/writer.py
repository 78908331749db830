"""Writing config.toml for `mailcli account add`: append an ``[accounts.NAME]`` section
while keeping everything already in the file byte for byte (comments, order, other
accounts), refuse a name that exists, validate the result with the same loader that
reads it, and replace the file atomically (a new file is created with mode 0600)."""
from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from mailcli.config.loader import parse_config
from mailcli.config.schema import Config
from mailcli.errors import ConfigError, UsageError
from mailcli.paths import make_private_dir

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any) -> str:
    """A TOML literal for a str, bool, int or list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # JSON string escapes (\" \\ \n \t \uXXXX) are valid TOML basic-string escapes
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else toml_value(name)


def account_section(name: str, fields: dict[str, Any],
                    smtp: dict[str, Any] | None = None) -> str:
    """``[accounts.NAME]`` (and ``[accounts.NAME.smtp]``) with the non-None fields."""
    lines = [f"[accounts.{_key(name)}]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in fields.items() if v is not None]
    if smtp:
        lines += ["", f"[accounts.{_key(name)}.smtp]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in smtp.items() if v is not None]
    return "\n".join(lines) + "\n"


def with_account(path: Path, name: str, fields: dict[str, Any],
                 smtp: dict[str, Any] | None = None) -> tuple[str, Config]:
    """The file's new text with the account appended, and the validated Config.

    Raises:
        UsageError: the account already exists. ConfigError: the file or the new
            section is invalid (located like any config error).
    """
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        current = tomllib.loads(old)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    accounts = current.get("accounts")
    if isinstance(accounts, dict) and name in accounts:
        raise UsageError(f"account {name!r} already exists in {path}",
                         hint="choose another --name, or edit the file to change it")
    text = old
    if text and not text.endswith("\n"):
        text += "\n"
    if text:
        text += "\n"
    text += account_section(name, fields, smtp)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: the new account section would not be valid TOML: {exc}",
                          "is 'accounts' defined as an inline table? edit the file by hand") from None
    return text, parse_config(data, path)


def write_config_text(path: Path, text: str) -> None:
    """Atomically replace (or create, mode 0600) the config file with `text` (through a
    symlink: the file it points to is replaced, the link stays)."""
    path = Path(os.path.realpath(path))
    make_private_dir(path.parent)
    try:  # private whatever it was: it may name a password command or file
        mode = path.stat().st_mode & 0o700
    except FileNotFoundError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
