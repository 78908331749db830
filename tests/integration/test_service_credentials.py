"""The service's credentials against Dovecot: the password_command runs once for the
service's life, however many connections it makes, and not at all when none logs in."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mailcli.config.schema import Config, GeneralConfig, Secret
from mailcli.service import Service
from tests.fakes.accounts import dovecot_config
from tests.servers.dovecot import PASSWORD, Dovecot

pytestmark = pytest.mark.dovecot


def counting_service(dovecot: Dovecot, user: str, protocol: str, tmp_path: Path) -> tuple[Service, Path]:
    counter = tmp_path / "runs"
    cfg = replace(dovecot_config(dovecot, protocol, user),
                  secret=Secret(command=f"echo run >> {counter}; echo '{PASSWORD}'"))
    config = Config(path=tmp_path / "config.toml", general=GeneralConfig(), accounts={"work": cfg})
    return Service(config, tmp_path / "data"), counter


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_password_command_runs_once_for_several_connections(dovecot: Dovecot, mail_user: str,
                                                            protocol: str, tmp_path: Path) -> None:
    svc, counter = counting_service(dovecot, mail_user, protocol, tmp_path)
    try:
        for _ in range(3):
            with svc.core.open_account(svc.account_config("work")) as account:
                assert account.list_folders()
        svc.quota()
    finally:
        svc.close()
    assert counter.read_text().splitlines() == ["run"]


def test_an_account_that_never_logs_in_never_runs_the_command(dovecot: Dovecot, mail_user: str,
                                                              tmp_path: Path) -> None:
    svc, counter = counting_service(dovecot, mail_user, "imap", tmp_path)
    try:
        svc.core.open_account(svc.account_config("work"))  # opened, never connected
        svc.flush_outbox()                                 # nothing queued: no connection
    finally:
        svc.close()
    assert not counter.exists()
