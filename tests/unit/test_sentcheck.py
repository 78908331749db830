"""The Sent-copy decision of mailcli.send.sent.SentCopies.server_copy case by case (config
true/false/auto x remembered answer x just sent or resumed), through the real outbox flush
with a real Store and FakeAccount; and the remembered-answer file of mailcli.send.sentcheck."""
from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import pytest

from mailcli.accounts.testing import FakeAccount
from mailcli.config.schema import AccountConfig, Secret, SmtpConfig
from mailcli.errors import TemporaryError
from mailcli.send import sentcheck
from mailcli.send.outbox import DONE, SENT, Outbox, flush_item
from mailcli.send.sent import SentCopies
from mailcli.store import Store

SMTP = SmtpConfig(host="smtp.example", port=587, security="starttls", username="me",
                  secret=Secret())


def raw(n: int) -> bytes:
    return (f"From: me@example.test\r\nTo: you@example.test\r\nSubject: {n}\r\n"
            f"Message-ID: <m{n}@example.test>\r\n\r\nbody\r\n").encode()


def cfg(saves: bool | None = None) -> AccountConfig:
    return AccountConfig(name="work", protocol="imap", host="h", port=1, security="tls",
                         username="me", secret=Secret(), email="me@example.test", smtp=SMTP,
                         server_saves_sent=saves)


class Filing:
    """A transport whose server files what it sends into Sent itself (or does not)."""

    def __init__(self, server: FakeAccount, files: bool = True) -> None:
        self.server, self.files, self.sent = server, files, 0

    def __call__(self, data: bytes, mail_from: str, rcpts: list[str]) -> dict[str, tuple[int, str]]:
        self.sent += 1
        if self.files:
            self.server.server_deliver("Sent", b"X-Filed: yes\r\n" + data)
        return {}


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def server() -> FakeAccount:
    acct = FakeAccount()
    acct.server_create("Sent")
    acct.connected = True
    return acct


def send(store: Store, server: FakeAccount, n: int, config: AccountConfig, files: bool = True):  # noqa: ANN201
    item = Outbox(store).enqueue("work", raw(n), f"<m{n}@example.test>", "me@example.test",
                                 ["you@example.test"])
    copier = SentCopies(store, config, lambda: server)
    return flush_item(Outbox(store), item, Filing(server, files), copier, fresh=True)


def sent_ids(server: FakeAccount) -> list[str]:
    return sorted(mid or "" for mid, _size in server.fetch_message_ids("Sent").values())


def remembered(store: Store) -> sentcheck.Answer | None:
    return sentcheck.Memory(store.data_dir).get("work", "smtp.example:587")


def test_auto_finds_the_servers_copy_adopts_it_and_remembers(store: Store, server: FakeAccount) -> None:
    res = send(store, server, 1, cfg())
    assert (res.sent_copy, res.status) == ("server", "sent") and res.notice
    assert server.count("append") == 0 and sent_ids(server) == ["<m1@example.test>"]
    cached = store.get(res.sent_id)  # type: ignore[arg-type]
    assert cached.uid is not None and store.read_raw(cached.id).startswith(b"X-Filed: yes\r\n")
    assert remembered(store).saves is True
    res = send(store, server, 2, cfg())
    assert res.sent_copy == "server" and res.notice is None and server.count("append") == 0


def test_auto_not_found_appends_then_the_owed_check_settles_it(store: Store, server: FakeAccount) -> None:
    res = send(store, server, 1, cfg(), files=False)
    assert res.sent_copy == "appended" and res.notice is None and server.count("append") == 1
    answer = remembered(store)
    assert answer.saves is False and answer.probe == "<m1@example.test>"
    searches = server.count("fetch_message_ids")
    res = send(store, server, 2, cfg(), files=False)
    assert res.sent_copy == "appended" and server.count("append") == 2
    assert server.count("fetch_message_ids") == searches + 1       # the one owed look
    assert remembered(store) == dataclasses.replace(answer, probe=None,
                                                    decided_at=remembered(store).decided_at)
    send(store, server, 3, cfg(), files=False)
    assert server.count("fetch_message_ids") == searches + 1       # settled: no more searches


def test_a_late_filer_is_recognised_at_the_next_send_and_the_duplicate_left(
        store: Store, server: FakeAccount) -> None:
    send(store, server, 1, cfg(), files=False)
    server.server_deliver("Sent", raw(1))          # the server filed it after the wait
    res = send(store, server, 2, cfg())
    assert res.sent_copy == "server" and "seen after the first send" in (res.notice or "")
    assert sent_ids(server) == ["<m1@example.test>"] * 2 + ["<m2@example.test>"]
    assert remembered(store).saves is True and server.count("expunge") == 0


@pytest.mark.parametrize("saves,files,copy,appends,copies", [
    (True, True, "server", 0, 1),     # configured: the server's copy, cached
    (True, False, "server", 0, 0),    # configured but not there yet: the next fetch brings it
    (False, True, "appended", 1, 2),  # configured off: the user asked for the APPEND
])
def test_configured(store: Store, server: FakeAccount, saves: bool, files: bool, copy: str,
                    appends: int, copies: int) -> None:
    res = send(store, server, 1, cfg(saves), files=files)
    assert (res.sent_copy, res.notice) == (copy, None)
    assert server.count("append") == appends and len(sent_ids(server)) == copies
    assert not (store.data_dir / "outbox" / sentcheck.FILE_NAME).exists()   # nothing to find out
    assert Outbox(store).items("work") == []                                # nothing owed
    if saves and files:
        assert store.get(res.sent_id).uid is not None  # type: ignore[arg-type]


def test_configured_true_with_the_server_unreachable_appends_nothing_later(
        store: Store, server: FakeAccount) -> None:
    server.fail_next("list_folders", TemporaryError("imap down"))
    res = send(store, server, 1, cfg(True))
    assert res.sent_copy == "server" and res.status == "sent" and res.exit_code == 0
    assert store.journal.pending("work") == [] and server.count("append") == 0


@pytest.mark.parametrize("already", [None, "ours", "servers"])
def test_a_resumed_copy_step_adopts_a_copy_already_there_and_finds_nothing_out(
        store: Store, server: FakeAccount, already: str | None) -> None:
    """A row found in "sent" (the process died before or during its copy) may meet its
    own interrupted APPEND in Sent, or the server's copy: adopted, not appended again;
    it proves nothing about the server, so nothing is remembered."""
    item = Outbox(store).enqueue("work", raw(1), "<m1@example.test>", "me@example.test", ["y@x"])
    Outbox(store).update(item.row, state=SENT)
    uid = None
    if already == "ours":
        uid = server.server_deliver("Sent", raw(1))
    elif already == "servers":
        uid = server.server_deliver("Sent", b"X-Filed: yes\r\n" + raw(1))
    res = flush_item(Outbox(store), Outbox(store).get(item.row), Filing(server),
                     SentCopies(store, cfg(), lambda: server))
    assert Outbox(store).get(item.row).state == DONE and res.notice is None
    assert res.sent_copy == {None: "appended", "ours": "appended", "servers": "server"}[already]
    assert server.count("append") == (1 if already is None else 0)
    assert sent_ids(server) == ["<m1@example.test>"]
    cached = store.get(res.sent_id)  # type: ignore[arg-type]
    assert cached.uid == (uid or cached.uid) and cached.folder == "Sent"
    assert store.read_raw(cached.id) == server.messages("Sent")[cached.uid]   # the server's bytes
    assert remembered(store) is None


def test_an_identity_with_its_own_smtp_server_is_found_out_by_itself() -> None:
    from mailcli.config.schema import IdentityConfig
    from mailcli.send.identity import sending_config

    other = dataclasses.replace(SMTP, host="smtp.other.example")
    config = dataclasses.replace(cfg(True), identities=(
        IdentityConfig(email="me@other.example", smtp=other),
        IdentityConfig(email="me@same.example", sent_folder="Sent Same")))
    assert sending_config(config, "me@other.example").server_saves_sent is None
    assert sending_config(config, "me@same.example").server_saves_sent is True
    assert sentcheck.server_key(sending_config(config, "me@other.example")) == "smtp.other.example:587"


def test_the_memory_file_is_private_and_a_broken_one_asks_again(store: Store) -> None:
    memory = sentcheck.Memory(store.data_dir)
    memory.put("work", "smtp.example:587", sentcheck.Answer(True, 1.0))
    path = store.data_dir / "outbox" / sentcheck.FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["work"]["smtp.example:587"]["saves"] is True
    assert memory.get("work", "smtp.example:587") == sentcheck.Answer(True, 1.0)
    path.write_text("{not json")
    assert memory.get("work", "smtp.example:587") is None


def test_poll_waits_only_until_found() -> None:
    answers: list[dict[int, int]] = [{}, {}, {7: 100, 5: 90}]
    slept: list[float] = []
    assert sentcheck.poll(lambda: answers.pop(0), 10.0, slept.append) == {7: 100, 5: 90}
    assert slept == [sentcheck.POLL] * 2
    assert sentcheck.poll(dict, 0.0, slept.append) == {} and len(slept) == 2


def test_a_queued_sent_copy_is_not_uploaded_where_the_server_filed_one(
        store: Store, server: FakeAccount) -> None:
    """IMAP down while a first message was sent: its copy is queued. When the server
    turns out to have filed its own copy, the replay appends none and drops the local
    UID-less one (the folder's sync caches the server's); a normal server gets the upload."""
    from mailcli.send.sent import replay_uploads

    for n, files in ((1, True), (2, False)):
        server.fail_next("list_folders", TemporaryError("imap down"))
        res = send(store, server, n, cfg(), files=files)
        assert res.sent_copy == "queued" and res.status == "sent"
        local = res.sent_id
        (action,) = store.journal.pending("work")
        results = replay_uploads(store, "work", lambda: server)
        assert [err for _a, err in results] == [None] and store.journal.pending("work") == []
        if files:
            assert server.count("append") == 0 and sent_ids(server) == ["<m1@example.test>"]
            assert store.count("work", "Sent") == 0     # the UID-less duplicate is gone
        else:
            assert server.count("append") == 1
            assert store.get(local).uid is not None     # type: ignore[arg-type]
