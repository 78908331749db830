"""Support for the sync integration tests: realistic messages, running fetch in-process or
as `python -m mailcli fetch`, and comparing the local Maildir cache with the server."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from mailcli.sync.runner import FetchResult
from tests.servers.dovecot import Dovecot


def message(i: int, tag: str = "m", lines: int = 6) -> bytes:
    body = "".join(f"line {j} of message {i}: lorem ipsum dolor sit amet\r\n" for j in range(lines))
    return (f"From: Sender {i} <s{i}@example.test>\r\nTo: r@example.test\r\n"
            f"Subject: {tag} {i}\r\nMessage-ID: <{tag}{i}@example.test>\r\n"
            f"Date: Mon, 1 Jan 2024 10:{i % 60:02d}:00 +0000\r\n\r\n{body}").encode()


def data_dir() -> Path:
    return Path(os.environ["MAILCLI_DATA"])


def fetch(accounts: list[str] | None = None, **kw: object) -> FetchResult:
    """One in-process `fetch` through the service API (fresh Service each time)."""
    from mailcli.service import Service

    svc = Service.open()
    try:
        return svc.fetch(accounts, **kw)  # type: ignore[arg-type]
    finally:
        svc.close()


def service():  # noqa: ANN201
    from mailcli.service import Service

    return Service.open()


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "mailcli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full)


def maildir_hashes(root: Path) -> Counter[str]:
    """sha256 of every message file in a Maildir (cur/ and new/), as a multiset."""
    out: Counter[str] = Counter()
    for sub in ("cur", "new"):
        d = root / sub
        if d.is_dir():
            for p in d.iterdir():
                out[hashlib.sha256(p.read_bytes()).hexdigest()] += 1
    return out


def server_hashes(server: Dovecot, user: str, folder: str = "INBOX") -> Counter[str]:
    return Counter(hashlib.sha256(raw).hexdigest() for raw in server.messages(user, folder).values())


def local_maildir(account: str, folder: str = "INBOX") -> Path:
    from mailcli.store.maildir import encode_component, folder_to_relpath

    return data_dir() / "mail" / encode_component(account) / folder_to_relpath(folder)


def assert_cache_matches(server: Dovecot, user: str, account: str, folder: str = "INBOX") -> None:
    """Every server message is cached exactly once, byte-identical; nothing extra; the
    index agrees with the files."""
    from mailcli.store import Store

    local = server.local_name(folder)      # "INBOX/Archive" where the server keeps folders under INBOX.
    want = server_hashes(server, user, folder)
    have = maildir_hashes(local_maildir(account, local))
    assert have == want, f"{folder}: cache {sum(have.values())} files vs server {sum(want.values())}"
    with Store(data_dir()) as st:
        rows = st.message_rows(account, local)
        assert len(rows) == sum(want.values())
        assert all(r.uid is not None for r in rows)
        assert sorted(r.uid for r in rows) == sorted(server.messages(user, folder))
