"""No duplicate Sent copies (issue 19): a server that files submitted mail into Sent
itself (Gmail, Microsoft 365) gets no second APPEND, whether the config says so
(`server_saves_sent = true`) or mailcli finds it out at the first send; a normal server
still gets exactly one copy. The auto-filing server is an aiosmtpd fixture that delivers
every accepted message into the sender's Sent folder in Dovecot with `doveadm save`."""
from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcli.store import Store
from tests.helpers import invoke
from tests.integration.test_send import parse, smtp_extra
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SMTP_PASSWORD, FilingRecorder, SmtpServer

pytestmark = [pytest.mark.dovecot, pytest.mark.smtp]


@pytest.fixture
def filing(dovecot: Dovecot) -> Iterator[SmtpServer]:
    """An SMTP server that files what it accepts into Sent (who: set `recorder.file`)."""
    server = SmtpServer(dovecot.ca_file, dovecot.root / "key.pem", recorder=FilingRecorder())
    server.start()
    yield server
    server.stop()
    assert isinstance(server.recorder, FilingRecorder)
    server.recorder.join()


def account(write_config, server: SmtpServer, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
            extra: str = "", files: bool = True):  # noqa: ANN201
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    spec = write_config(extra=extra + smtp_extra(server))
    if files:
        rec = server.recorder
        assert isinstance(rec, FilingRecorder)
        rec.file = lambda raw: dovecot.deliver(spec.user, raw, "Sent")
    return spec


def send(subject: str) -> tuple[dict, str, float]:
    start = time.monotonic()
    r = invoke("compose", "--to", "bob@example.test", "--subject", subject, "--body-file", "-",
               "--json", input="Hello\n")
    took = time.monotonic() - start
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout), r.stderr, took


def server_sent(dovecot: Dovecot, user: str) -> list[str]:
    """The Message-IDs in the server's Sent folder, one per copy."""
    return sorted(str(parse(raw)["Message-ID"]) for raw in dovecot.messages(user, "Sent").values())


def memory(data: Path) -> dict:
    path = data / "outbox" / "server-saves-sent.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return json.loads(path.read_text())


def test_found_out_at_the_first_send_no_duplicate_and_remembered(
        write_config, filing: SmtpServer, dovecot: Dovecot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = account(write_config, filing, dovecot, monkeypatch)
    first, err, _ = send("first")
    assert first["status"] == "sent" and first["sent_copy"] == "server"
    assert first["notice"] and "files sent mail into Sent itself" in first["notice"]
    assert "mailcli: note:" in err and "server_saves_sent = false" in err
    assert server_sent(dovecot, spec.user) == [first["message_id"]]   # one copy: the server's
    # the cache holds the server's copy (its bytes, its UID), at once
    with Store(tmp_path / "data") as s:
        (env,) = s.list_envelopes(spec.name, "Sent")
        assert env.id == first["sent_id"] and env.uid is not None
        assert s.read_raw(env.id).startswith(b"X-Filed-By: smtp-fixture\r\n")
    saved = memory(tmp_path / "data")[spec.name]
    assert [v["saves"] for v in saved.values()] == [True]
    # remembered: the next send reports nothing new and appends nothing either
    second, err, _ = send("second")
    assert second["sent_copy"] == "server" and second["notice"] is None and "note:" not in err
    assert server_sent(dovecot, spec.user) == sorted([first["message_id"], second["message_id"]])
    # a fetch does not make a second cached copy of either
    assert invoke("fetch").exit_code == 0
    with Store(tmp_path / "data") as s:
        assert s.count(spec.name, "Sent") == 2 and s.count(spec.name, "Outbox") == 0


def test_a_server_that_files_a_moment_later_is_waited_for(
        write_config, filing: SmtpServer, dovecot: Dovecot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_SENT_CHECK_WAIT", "5")
    spec = account(write_config, filing, dovecot, monkeypatch)
    assert isinstance(filing.recorder, FilingRecorder)
    filing.recorder.delay = 0.8
    doc, _, took = send("filed late")
    assert doc["sent_copy"] == "server" and doc["notice"]
    assert 0.8 <= took < 5     # waited for it, not for the whole window
    filing.recorder.join()
    assert server_sent(dovecot, spec.user) == [doc["message_id"]]


def test_configured_server_saves_sent_appends_nothing_and_asks_nothing(
        write_config, filing: SmtpServer, dovecot: Dovecot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = account(write_config, filing, dovecot, monkeypatch, extra="server_saves_sent = true\n")
    ids = []
    for n in range(2):
        doc, err, _ = send(f"configured {n}")
        assert doc["sent_copy"] == "server" and doc["notice"] is None, err
        ids.append(doc["message_id"])
    assert server_sent(dovecot, spec.user) == sorted(ids)
    assert not (tmp_path / "data" / "outbox" / "server-saves-sent.json").exists()
    with Store(tmp_path / "data") as s:
        assert s.count(spec.name, "Sent") == 2


def test_configured_false_always_appends(write_config, filing: SmtpServer, dovecot: Dovecot,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    spec = account(write_config, filing, dovecot, monkeypatch,
                   extra='server_saves_sent = false\n')
    doc, _, _ = send("always append")
    assert doc["sent_copy"] == "appended"
    assert server_sent(dovecot, spec.user) == [doc["message_id"]] * 2  # what the user asked for


def test_a_normal_server_gets_exactly_one_copy_and_only_the_first_send_waits(
        write_config, smtp_server: SmtpServer, dovecot: Dovecot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_SENT_CHECK_WAIT", "1.5")
    spec = account(write_config, smtp_server, dovecot, monkeypatch, files=False)
    first, err, took_first = send("normal 1")
    assert first["sent_copy"] == "appended" and first["notice"] is None and "note:" not in err
    assert took_first >= 1.5
    second, _, took_second = send("normal 2")
    assert second["sent_copy"] == "appended"
    assert took_second < 1.5     # the answer is remembered: no second wait
    assert server_sent(dovecot, spec.user) == sorted([first["message_id"], second["message_id"]])
    (answer,) = memory(tmp_path / "data")[spec.name].values()
    assert answer["saves"] is False and answer["probe"] is None   # checked once more, then settled
    with Store(tmp_path / "data") as s:
        assert s.count(spec.name, "Sent") == 2


def test_filed_after_the_wait_is_noticed_at_the_next_send_and_the_duplicate_kept(
        write_config, filing: SmtpServer, dovecot: Dovecot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_SENT_CHECK_WAIT", "0.2")
    spec = account(write_config, filing, dovecot, monkeypatch)
    assert isinstance(filing.recorder, FilingRecorder)
    filing.recorder.delay = 1.0
    first, _, _ = send("slow server")
    assert first["sent_copy"] == "appended"          # not seen in time: appended
    filing.recorder.join()
    assert server_sent(dovecot, spec.user) == [first["message_id"]] * 2
    filing.recorder.delay = 0.0
    second, err, _ = send("after that")
    assert second["sent_copy"] == "server" and "seen after the first send" in second["notice"]
    # the duplicate made before is left alone; the second message has one copy
    assert server_sent(dovecot, spec.user) == sorted([first["message_id"]] * 2 + [second["message_id"]])
    third, _, _ = send("third")
    assert third["sent_copy"] == "server" and third["notice"] is None
    assert os.path.exists(tmp_path / "data" / "outbox" / "server-saves-sent.json")


def test_killed_before_the_copy_step_on_a_filing_server_still_one_copy(
        write_config, filing: SmtpServer, dovecot: Dovecot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL right after the SMTP server accepted (the server filed its copy): the next
    `mailcli send` sends nothing again and adopts the server's copy instead of appending."""
    from tests.helpers import run

    spec = account(write_config, filing, dovecot, monkeypatch)
    r = run("compose", "--to", "k@example.test", "--subject", "killed after SMTP",
            "--body-file", "-", input=b"body\n", env={"MAILCLI_TEST_KILL_AT": "sent:1"})
    assert r.exit_code == -9, r.stderr
    assert len(filing.messages) == 1
    r = invoke("send", "--json")
    assert r.exit_code == 0, r.stderr
    (res,) = json.loads(r.stdout)
    assert res["status"] == "sent" and res["sent_copy"] == "server"
    assert len(filing.messages) == 1                                   # not sent twice
    (mid,) = server_sent(dovecot, spec.user)                           # one copy, the server's
    with Store(tmp_path / "data") as s:
        (env,) = s.list_envelopes(spec.name, "Sent")
        assert env.message_id == mid and s.read_raw(env.id).startswith(b"X-Filed-By:")


@pytest.mark.parametrize("setting", ["auto", "false"])
def test_killed_after_its_append_the_resumed_copy_step_finds_it(
        write_config, smtp_server: SmtpServer, dovecot: Dovecot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    """SIGKILL after the Sent copy's APPEND reached a normal server but before it was
    recorded: the next `mailcli send` adopts that copy (found by Message-ID) instead of
    appending a second one, also once the server is known not to file sent mail itself
    (test_kill found two copies that way when the answer was remembered)."""
    from tests.helpers import run

    extra = 'server_saves_sent = false\n' if setting == "false" else ""
    spec = account(write_config, smtp_server, dovecot, monkeypatch, extra=extra, files=False)
    first, _, _ = send("before")                # "auto": the server's habit found out here
    assert first["sent_copy"] == "appended"
    r = run("compose", "--to", "k@example.test", "--subject", "killed after APPEND",
            "--body-file", "-", input=b"body\n", env={"MAILCLI_TEST_KILL_AT": "appended:1"})
    assert r.exit_code == -9, r.stderr
    r = invoke("send", "--json")
    assert r.exit_code == 0, r.stderr
    assert [d["sent_copy"] for d in json.loads(r.stdout)] == ["appended"]
    ids = server_sent(dovecot, spec.user)
    assert len(ids) == 2 and first["message_id"] in ids        # one copy each, no second
    with Store(tmp_path / "data") as s:
        assert s.count(spec.name, "Sent") == 2
