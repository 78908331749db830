"""Where mailcli keeps things: config file and data dir (XDG, with env overrides).

Precedence: flag > environment (MAILCLI_CONFIG / MAILCLI_DATA) > config file > default.
Pure: nothing is created at import time.
"""
from __future__ import annotations

import os
from pathlib import Path


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def default_config_path() -> Path:
    env = os.environ.get("MAILCLI_CONFIG")
    if env:
        return Path(env).expanduser()
    return _xdg("XDG_CONFIG_HOME", ".config") / "mailcli" / "config.toml"


def default_data_dir(configured: str | None = None) -> Path:
    env = os.environ.get("MAILCLI_DATA")
    if env:
        return Path(env).expanduser()
    if configured:
        return Path(configured).expanduser()
    return _xdg("XDG_DATA_HOME", ".local/share") / "mailcli"
