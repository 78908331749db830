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


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700 whatever the umask; an existing
    directory is left as it is (see repair_data_dir)."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for p in reversed(missing):
        try:
            p.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(p, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    return path


def repair_data_dir(data_dir: Path) -> list[str]:
    """Make an existing data dir private again: the dir itself 0700 (which alone keeps
    every Maildir below it from other users), its files (index, -wal/-shm, logs) and the
    compose drafts 0600. Returns what was changed, e.g. ["data dir 0755", "index.sqlite3 0644"];
    an empty list when all was private or the dir cannot be changed (read-only)."""
    data_dir = Path(data_dir)
    fixed: list[str] = []

    def fix(p: Path, want: int, label: str) -> None:
        try:
            st = p.lstat()
        except OSError:
            return
        if (st.st_mode & 0o777) & ~want and st.st_uid == os.geteuid():
            try:
                os.chmod(p, want, follow_symlinks=False)
            except (OSError, NotImplementedError):
                return
            fixed.append(f"{label} {st.st_mode & 0o777:04o}")

    if not data_dir.is_dir():
        return fixed
    fix(data_dir, PRIVATE_DIR, "data dir")
    try:
        entries = list(os.scandir(data_dir))
    except OSError:
        return fixed
    for e in entries:
        if e.is_symlink():
            continue
        if e.is_file():
            fix(Path(e.path), PRIVATE_FILE, e.name)
        elif e.is_dir():
            fix(Path(e.path), PRIVATE_DIR, e.name + "/")
            if e.name == "compose":
                for d in Path(e.path).glob("*"):
                    fix(d, PRIVATE_FILE, f"compose/{d.name}")
    return fixed
