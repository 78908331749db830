"""A Dovecot that offers neither IDLE nor NOTIFY (nor CONDSTORE): the polling path."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import _unavailable
from tests.servers import dovecot as dovecot_mod
from tests.servers.dovecot import Dovecot


@pytest.fixture(scope="session")
def dovecot_no_push() -> Iterator[Dovecot]:
    if not dovecot_mod.available():
        _unavailable("dovecot is not installed")
    server = Dovecot.start(capabilities="IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE "
                                        "NAMESPACE SPECIAL-USE UIDPLUS MOVE")
    yield server
    server.stop()
