"""The TUI reader shows PGP/MIME like `show`: the signature verdict with signer and key
under the headers (preview and full view), and encrypted mail decrypted (issue 19)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mailcli.store import Store
from tests.pgp import made_by_gpg as made
from tests.pgp.conftest import keys  # noqa: F401 (the session's GnuPG homes)
from tests.pgp.keys import Keys
from tests.tui.conftest import SIZE, settle


@pytest.fixture
def pgp_mail(seeded: dict, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:  # noqa: F811
    monkeypatch.setenv("GNUPGHOME", str(keys.alice.path))
    with Store(Path(os.environ["MAILCLI_DATA"])) as store:
        enc = made.encrypted(keys.bob).replace(b"2026 10:00", b"2026 09:00")
        return {"signed": store.deliver("work", "INBOX", made.signed(keys.bob), uid=901),
                "partial": store.deliver("work", "INBOX", made.partially_signed(keys.bob)
                                         .replace(b"2026 10:00", b"2026 08:00"), uid=902),
                "encrypted": store.deliver("work", "INBOX", enc.replace(b"alice@example.org",
                                                                        b"me@example.test"), uid=903)}


async def test_the_reader_shows_signature_and_decrypts(make_app: Any, pgp_mail: dict, keys: Keys) -> None:  # noqa: F811
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.message_list.current.id == pgp_mail["signed"]
        text = app.main.preview.text
        assert f"Signature: good (Bob <bob@example.net>, key {keys.bob.fpr[-16:]})" in text
        await pilot.press("j")
        await settle(pilot)
        assert app.main.message_list.current.id == pgp_mail["encrypted"]
        assert "Decrypted" in app.main.preview.text
        await pilot.press("j")
        await settle(pilot)
        text = app.main.preview.text
        assert "Signature: partial: only part of this message is signed" in text
        assert "Signature: good" not in text
        await pilot.press("k", "enter")
        await settle(pilot)
        body = app.screen.body.text
        assert "Decrypted" in body and "Zebra crossing 42." in body
