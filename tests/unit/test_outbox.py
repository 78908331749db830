"""The outbox state machine (mailcli.send.outbox.flush_item) case by case, with a real
Store, the real SentCopies over FakeAccount, and a scripted SMTP transport; plus the
editable draft text (mailcli.send.draftfile)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mailcli.accounts.testing import FakeAccount
from mailcli.config.schema import AccountConfig, Secret
from mailcli.errors import AuthError, ProtocolError, TemporaryError, UsageError
from mailcli.model import Flag, FolderRole
from mailcli.send import draftfile, outbox_state
from mailcli.send.compose import Draft
from mailcli.send.outbox import (APPENDED, CANCELLED, DONE, FAILED, QUEUED, SENDING, SENT,
                                 UNCERTAIN, Outbox, flush_item, sent_copy_bytes)
from mailcli.send.sent import SentCopies, replay_uploads
from mailcli.send.smtp import RecipientsRefused
from mailcli.store import Store

RAW = b"From: me@example.test\r\nTo: you@example.test\r\nSubject: Hi\r\nMessage-ID: <m1@example.test>\r\n\r\nbody\r\n"


def cfg(protocol: str = "imap", sent_folder: str | None = None) -> AccountConfig:
    return AccountConfig(name="work", protocol=protocol, host="h", port=1, security="tls",
                         username="me", secret=Secret(), email="me@example.test",
                         sent_folder=sent_folder)


class Transport:
    """A scripted SMTP transport: each call pops the next outcome (exception or refused)."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[bytes, str, list[str]]] = []

    def __call__(self, raw: bytes, mail_from: str, rcpts: list[str]) -> dict[str, tuple[int, str]]:
        self.calls.append((raw, mail_from, rcpts))
        out = self.outcomes.pop(0) if self.outcomes else {}
        if isinstance(out, BaseException):
            raise out
        return out  # type: ignore[return-value]


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def server() -> FakeAccount:
    acct = FakeAccount()
    acct.server_create("Sent")
    return acct


def copier(store: Store, server: FakeAccount, protocol: str = "imap", **kw: object) -> SentCopies:
    server.connected = True
    return SentCopies(store, cfg(protocol, **kw), (lambda: server) if protocol == "imap" else None)  # type: ignore[arg-type]


def queue(store: Store, **kw: object):
    args: dict[str, object] = dict(recipients=["you@example.test", "b@example.test"],
                                   bcc=["b@example.test"])
    args.update(kw)
    return Outbox(store).enqueue("work", RAW, "<m1@example.test>", "me@example.test", **args)  # type: ignore[arg-type]


def test_enqueue_is_durable_in_outbox_folder(store: Store) -> None:
    item = queue(store)
    assert item.state == QUEUED and item.recipients == ("you@example.test", "b@example.test")
    (env,) = store.list_envelopes("work", "Outbox")
    assert env.id == item.message and store.read_raw(env.id) == RAW
    assert outbox_state.has_work(store, "work") and not outbox_state.has_work(store, "other")


def test_sent_then_copy_appended_and_cached_then_outbox_emptied(store: Store, server: FakeAccount) -> None:
    item = queue(store)
    t = Transport()
    res = flush_item(Outbox(store), item, t, copier(store, server))
    assert (res.status, res.sent_copy, res.sent_folder, res.exit_code) == ("sent", "appended", "Sent", 0)
    assert len(t.calls) == 1 and t.calls[0] == (RAW, "me@example.test", ["you@example.test", "b@example.test"])
    ((uid, (copy, flags, _)),) = server.folders["Sent"].messages.items()
    assert copy == sent_copy_bytes(RAW, ("b@example.test",)) and copy.startswith(b"Bcc: b@example.test\r\n")
    assert flags == {Flag.SEEN}
    cached = store.get(res.sent_id)  # type: ignore[arg-type]
    assert (cached.folder, cached.uid, cached.flags) == ("Sent", uid, {Flag.SEEN})
    row = Outbox(store).get(item.row)
    assert row.state == DONE and row.message is None
    assert store.count("work", "Outbox") == 0 and not outbox_state.has_work(store, "work")


def test_sent_folder_special_use_then_config_then_created(store: Store) -> None:
    acct = FakeAccount(folders={"Gesendet": {}})
    acct.folders["Gesendet"].role = FolderRole.SENT
    res = flush_item(Outbox(store), queue(store), Transport(), copier(store, acct))
    assert res.sent_folder == "Gesendet"
    acct2 = FakeAccount()
    res2 = flush_item(Outbox(store), Outbox(store).enqueue("work", RAW, "<m2@x>", "me@x", ["a@x"]),
                      Transport(), copier(store, acct2, sent_folder="Archive/Sent"))
    assert res2.sent_folder == "Archive/Sent" and "Archive/Sent" in acct2.folders


def test_temporary_smtp_error_requeues_and_a_later_flush_sends_once(store: Store, server: FakeAccount) -> None:
    item = queue(store)
    t = Transport(TemporaryError("127.0.0.1:25: cannot reach the SMTP server: refused"))
    res = flush_item(Outbox(store), item, t, copier(store, server))
    assert (res.status, res.exit_code) == ("queued", 75) and "cannot reach" in (res.error or "")
    row = Outbox(store).get(item.row)
    assert (row.state, row.attempts) == (QUEUED, 1) and store.count("work", "Outbox") == 1
    res = flush_item(Outbox(store), row, t, copier(store, server))
    assert res.status == "sent" and len(t.calls) == 2
    for _ in range(2):  # nothing open any more
        assert Outbox(store).items("work") == []
    assert len(server.folders["Sent"].messages) == 1


@pytest.mark.parametrize("error", [
    RecipientsRefused({"you@example.test": (550, "no such user")}, True),
    AuthError("SMTP login refused"),
])
def test_permanent_error_fails_kept_and_retried_only_on_request(store: Store, server: FakeAccount,
                                                               error: Exception) -> None:
    item = queue(store)
    t = Transport(error)
    res = flush_item(Outbox(store), item, t, copier(store, server))
    assert res.status == "failed" and res.exit_code != 0 and res.error
    if isinstance(error, RecipientsRefused):
        assert res.refused == {"you@example.test": "550 no such user"}
    assert Outbox(store).get(item.row).state == FAILED
    res = flush_item(Outbox(store), Outbox(store).get(item.row), t, copier(store, server))
    assert res.status == "failed" and len(t.calls) == 1  # fetch's flush: not retried
    res = flush_item(Outbox(store), Outbox(store).get(item.row), t, copier(store, server),
                     retry_failed=True)
    assert res.status == "sent" and len(t.calls) == 2


def test_partial_refusal_is_a_send_that_names_the_refused(store: Store, server: FakeAccount) -> None:
    t = Transport({"b@example.test": (550, "nope")})
    res = flush_item(Outbox(store), queue(store), t, copier(store, server))
    assert res.status == "sent" and res.exit_code == 1
    assert res.refused == {"b@example.test": "550 nope"} and "b@example.test" in (res.error or "")


def test_stale_sending_becomes_uncertain_flagged_and_is_not_resent(store: Store, server: FakeAccount) -> None:
    item = queue(store)
    Outbox(store).update(item.row, state=SENDING)  # a run killed mid-SMTP
    t = Transport()
    res = flush_item(Outbox(store), Outbox(store).get(item.row), t, copier(store, server))
    assert (res.status, res.exit_code) == ("uncertain", 1) and t.calls == []
    assert "--resend-uncertain" in (res.hint or "")
    assert Flag.FLAGGED in store.get(item.message).flags  # type: ignore[arg-type]
    res = flush_item(Outbox(store), Outbox(store).get(item.row), t, copier(store, server))
    assert res.status == "uncertain" and t.calls == []
    res = flush_item(Outbox(store), Outbox(store).get(item.row), t, copier(store, server),
                     resend_uncertain=True)
    assert res.status == "sent" and len(t.calls) == 1


def test_recorded_sent_is_never_sent_again_only_the_copy_is_made(store: Store, server: FakeAccount) -> None:
    item = queue(store)
    Outbox(store).update(item.row, state=SENT)  # killed after SMTP, before the copy
    t = Transport()
    res = flush_item(Outbox(store), Outbox(store).get(item.row), t, copier(store, server))
    assert res.status == "sent" and res.sent_copy == "appended" and t.calls == []
    assert len(server.folders["Sent"].messages) == 1


def test_appended_state_only_makes_the_cache_copy(store: Store, server: FakeAccount) -> None:
    item = queue(store)
    uid = server.server_deliver("Sent", sent_copy_bytes(RAW, ("b@example.test",)), {Flag.SEEN})
    Outbox(store).update(item.row, state=APPENDED, sent_copy="appended", sent_folder="Sent", sent_uid=uid)
    res = flush_item(Outbox(store), Outbox(store).get(item.row), Transport(), copier(store, server))
    assert res.status == "sent" and server.count("append") == 0
    assert store.get(res.sent_id).uid == uid  # type: ignore[arg-type]
    assert len(server.folders["Sent"].messages) == 1


def test_failed_append_is_queued_in_the_journal_and_replayed(store: Store, server: FakeAccount) -> None:
    server.fail_next("append", ProtocolError("APPEND failed: NO [OVERQUOTA] Quota exceeded"))
    res = flush_item(Outbox(store), queue(store), Transport(), copier(store, server))
    assert res.status == "sent" and res.exit_code == 0 and res.sent_copy == "queued"
    assert "Quota" in (res.hint or "")
    local = store.get(res.sent_id)  # type: ignore[arg-type]
    assert local.folder == "Sent" and local.uid is None
    (action,) = store.journal.pending("work")
    assert action.payload == {"folder": "Sent", "id": local.id, "message_id": "<m1@example.test>",
                              "flags": ["seen"], "sent_copy": True}
    assert server.folders["Sent"].messages == {}
    out = replay_uploads(store, "work", lambda: server)
    assert [err for _a, err in out] == [None]
    ((uid, (_raw, flags, _)),) = server.folders["Sent"].messages.items()
    assert store.get(local.id).uid == uid and flags == {Flag.SEEN}
    assert store.journal.pending("work") == []
    assert replay_uploads(store, "work", lambda: server) == []  # idempotent


def test_sent_copy_replay_whose_reply_was_lost_is_not_appended_twice(
        store: Store, server: FakeAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server stored the queued Sent copy, then the link died before APPENDUID: the
    next replay adopts that copy (same Message-ID and size) instead of a second APPEND."""
    server.fail_next("append", ProtocolError("APPEND failed: NO [OVERQUOTA] Quota exceeded"))
    res = flush_item(Outbox(store), queue(store), Transport(), copier(store, server))
    assert res.sent_copy == "queued"
    real = server.append

    def stored_then_lost(*a: object, **kw: object) -> int | None:
        real(*a, **kw)  # type: ignore[arg-type]
        raise TemporaryError("connection lost")

    monkeypatch.setattr(server, "append", stored_then_lost)
    out = replay_uploads(store, "work", lambda: server)
    assert [type(err) for _a, err in out] == [TemporaryError]
    monkeypatch.setattr(server, "append", real)
    assert [err for _a, err in replay_uploads(store, "work", lambda: server)] == [None]
    ((uid, _),) = server.folders["Sent"].messages.items()      # one copy, not two
    assert store.get(res.sent_id).uid == uid  # type: ignore[arg-type]
    assert store.journal.pending("work") == []


def test_pop3_copy_is_local_only(store: Store, server: FakeAccount) -> None:
    res = flush_item(Outbox(store), queue(store), Transport(), copier(store, server, protocol="pop3"))
    assert res.sent_copy == "local" and res.sent_folder == "Sent"
    assert store.get(res.sent_id).uid is None and store.journal.pending("work") == []  # type: ignore[arg-type]


def test_removed_from_outbox_is_cancelled_not_sent(store: Store, server: FakeAccount) -> None:
    item = queue(store)
    store.remove(item.message)  # type: ignore[arg-type]  # `mailcli delete ID`
    t = Transport()
    res = flush_item(Outbox(store), Outbox(store).get(item.row), t, copier(store, server))
    assert res.status == "cancelled" and t.calls == []
    assert Outbox(store).get(item.row).state == CANCELLED and Outbox(store).items("work") == []


def test_replied_message_gets_answered(store: Store, server: FakeAccount) -> None:
    orig = store.deliver("work", "INBOX", b"Subject: q\r\n\r\nx\r\n", flags={Flag.SEEN}, uid=7)
    flush_item(Outbox(store), queue(store, replied=orig), Transport(), copier(store, server))
    assert store.get(orig).flags == {Flag.SEEN, Flag.ANSWERED}


def test_uncertain_row_survives_a_kill_during_transport(store: Store, server: FakeAccount) -> None:
    class Killed(BaseException):
        pass

    item = queue(store)
    with pytest.raises(Killed):
        flush_item(Outbox(store), item, Transport(Killed()), copier(store, server))
    assert Outbox(store).get(item.row).state == SENDING
    res = flush_item(Outbox(store), Outbox(store).get(item.row), Transport(), copier(store, server))
    assert res.status == "uncertain" and Outbox(store).get(item.row).state == UNCERTAIN


# ------------------------------------------------------------------ draftfile
BASE = Draft(from_="Me <me@example.test>", to=["a@example.test"], subject="Hi",
             body="\n\n> quoted\n", in_reply_to="<x@y>", references=["<x@y>"])


def test_draftfile_round_trip_keeps_threading() -> None:
    text = draftfile.render(BASE)
    assert text.startswith("From: Me <me@example.test>\nTo: a@example.test\nCc: \nBcc: \nSubject: Hi\n\n")
    back = draftfile.parse(text, BASE)
    assert dataclasses.asdict(back) == dataclasses.asdict(BASE)


def test_draftfile_parses_edits_continuations_and_attachments(tmp_path: Path) -> None:
    text = ("from: Me <me@example.test>\nTO: Zoë <zoe@example.test>,\n  yan@example.test\n"
            "Cc: c@example.test\nBcc:\nSubject: Grüße\nAttach: ~/f.pdf\nAttach: /tmp/g.png\n\nHello\n")
    d = draftfile.parse(text, BASE)
    assert d.to == ["Zoë <zoe@example.test>", "yan@example.test"] and d.cc == ["c@example.test"]
    assert d.bcc == [] and d.subject == "Grüße" and d.body == "Hello\n"
    assert d.attachments == [Path("~/f.pdf").expanduser(), Path("/tmp/g.png")]
    assert d.in_reply_to == "<x@y>"


@pytest.mark.parametrize("text, match", [
    ("X-Foo: 1\n\nbody", "unknown header 'X-Foo'"),
    ("To a@example.test\n\nbody", "not a header"),
    ("To: nobody\n\nbody", "not an email address"),
])
def test_draftfile_errors_name_the_line(text: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        draftfile.parse(text, BASE)


def test_draftfile_without_blank_line_has_empty_body() -> None:
    d = draftfile.parse("To: a@example.test\nSubject: s", BASE)
    assert d.body == "" and d.subject == "s"
