"""Session fixtures for the PGP/MIME tests (see tests/pgp/keys.py)."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcli.store import Store
from tests.pgp.keys import Home, Keys, cleanup, make_keys


@pytest.fixture(scope="session")
def keys() -> Iterator[Keys]:
    if shutil.which("gpg") is None:
        pytest.fail("gpg is not installed (apt-get install gnupg): the PGP/MIME tests need it")
    made, root = make_keys()
    yield made
    cleanup(made, root)


@pytest.fixture
def alice_home(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Home:
    """mailcli runs as Alice: GNUPGHOME points at her home."""
    monkeypatch.setenv("GNUPGHOME", str(keys.alice.path))
    return keys.alice


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The test's cache (MAILCLI_DATA is tmp_path/data, tests/conftest.py)."""
    s = Store(tmp_path / "data")
    yield s
    s.close()
