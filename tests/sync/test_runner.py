"""fetch_accounts: locks, error isolation between accounts, reports, exit-code rules."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mailcli.accounts.testing import FakeAccount
from mailcli.config.schema import AccountConfig
from mailcli.errors import AuthError, ExitCode, TemporaryError
from mailcli.store import Store
from mailcli.sync.events import AccountDone, AccountStarted, RecordingReporter
from mailcli.sync.lock import account_lock
from mailcli.sync.runner import combine_exit_codes, fetch_accounts
from tests.fakes.accounts import account_config


def msg(i: int) -> bytes:
    return f"From: a@example.test\r\nMessage-ID: <r{i}@x>\r\nSubject: {i}\r\n\r\nb\r\n".encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as s:
        yield s


def configs(*names: str) -> list[AccountConfig]:
    return [dataclasses.replace(account_config("imap", 993, "u", name=n)) for n in names]


def connector(accounts: dict[str, FakeAccount | Exception]):  # noqa: ANN201
    @contextmanager
    def connect(cfg: AccountConfig) -> Iterator[FakeAccount]:
        acc = accounts[cfg.name]
        if isinstance(acc, Exception):
            raise acc
        with acc:
            yield acc
    return connect


def test_one_failing_account_does_not_stop_the_others(store: Store, tmp_path: Path) -> None:
    good1 = FakeAccount(folders={"INBOX": {1: (msg(1), set())}})
    good2 = FakeAccount(folders={"INBOX": {1: (msg(2), set()), 2: (msg(3), set())}})
    rec = RecordingReporter()
    result = fetch_accounts(configs("a", "bad", "b"), store=store, data_dir=tmp_path,
                            connect=connector({"a": good1, "bad": AuthError("login refused"),
                                               "b": good2}), reporter=rec)
    assert [r.ok for r in result.accounts] == [True, False, True]
    assert [r.new for r in result.accounts] == [1, 0, 2]
    assert result.accounts[1].error == "login refused" and result.accounts[1].exit_code == 3
    assert result.exit_code == 1 and not result.ok
    assert [e.report.account for e in rec.of_type(AccountDone)] == ["a", "bad", "b"]
    assert len(rec.of_type(AccountStarted)) == 3
    doc = result.to_json()
    assert set(doc) >= {"accounts", "ok"} and doc["ok"] is False
    assert set(doc["accounts"][0]) >= {"account", "protocol", "ok", "new", "updated", "deleted",
                                       "uploaded", "error"}


def test_a_held_lock_fails_that_account_at_once_with_75(store: Store, tmp_path: Path) -> None:
    acc = FakeAccount(folders={"INBOX": {1: (msg(1), set())}})
    with account_lock(tmp_path, "a"):
        result = fetch_accounts(configs("a"), store=store, data_dir=tmp_path,
                                connect=connector({"a": acc}))
    assert result.exit_code == 75 and "already being synced" in (result.accounts[0].error or "")
    assert acc.calls == []                               # never connected


def test_partial_folder_failure_makes_the_account_partial(store: Store, tmp_path: Path) -> None:
    from mailcli.errors import ProtocolError
    acc = FakeAccount(folders={"INBOX": {1: (msg(1), set())}, "Other": {}})
    acc.fail_next("changes_since", ProtocolError("NO [SERVERBUG]"))
    result = fetch_accounts(configs("a"), store=store, data_dir=tmp_path, connect=connector({"a": acc}))
    rep = result.accounts[0]
    assert not rep.ok and rep.exit_code == 1 and "INBOX" in (rep.error or "")
    assert result.exit_code == 1


def test_before_sync_runs_under_the_lock_and_its_failure_is_a_note(store: Store, tmp_path: Path) -> None:
    acc = FakeAccount(folders={"INBOX": {}})

    def flush(cfg: AccountConfig) -> None:
        with pytest.raises(TemporaryError):
            with account_lock(tmp_path, cfg.name):
                pass
        raise RuntimeError("smtp down")

    result = fetch_accounts(configs("a"), store=store, data_dir=tmp_path, connect=connector({"a": acc}),
                            before_sync=flush)
    assert result.ok and any("smtp down" in n for n in result.accounts[0].notes)


@pytest.mark.parametrize("failures,total,code", [
    ([], 2, 0),
    ([75], 1, 75),            # only temporary failures: cron retries
    ([75], 3, 1),             # one unreachable, two done: done in part (SPEC)
    ([75, 75], 2, 75),
    ([3], 1, 3),              # everything failed to log in
    ([3, 3], 2, 3),
    ([2], 1, 2),
    ([3], 2, 1),              # one account failed to log in, the other was done
    ([3, 75], 2, 1),          # mixed kinds
    ([1], 1, 1),
    ([1, 75], 3, 1),
])
def test_exit_code_rules(failures: list[int], total: int, code: int) -> None:
    assert combine_exit_codes(failures, total) == code
    assert ExitCode(code) in ExitCode
