"""The watcher's pure parts, case by case: reconnect delays, who waits on which folder,
when a STATUS means "changed", what IDLE/NOTIFY responses mean, the events' JSON, the
config keys, and the hook runner and notification text (real subprocesses)."""
from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailcli.accounts import imap_push
from mailcli.config import parse_config
from mailcli.errors import ConfigError, TemporaryError
from mailcli.model import Envelope, FolderStatus
from mailcli.service.hooks import HookRunner, notification_text
from mailcli.sync.backoff import Backoff, delay
from mailcli.sync.watch_events import HookFailed, NewMail, Stopped, Synced, WatchEvent
from mailcli.sync.watch_waiters import WaitPlan, matches, plan_waits, status_changed

FOLDERS = ["INBOX", "Archive", "Lists/dev", "Lists/ops", "Sent", "Trash"]


# ---------------------------------------------------------------- backoff
@pytest.mark.parametrize(("attempt", "low", "high"), [
    (0, 0.5, 1.0), (1, 1.0, 2.0), (2, 2.0, 4.0), (8, 128.0, 256.0), (9, 150.0, 300.0),
    (30, 150.0, 300.0), (10_000, 150.0, 300.0)])
def test_backoff_doubles_from_1_s_to_5_min_with_jitter(attempt: int, low: float,
                                                       high: float) -> None:
    assert delay(attempt, rand=lambda: 0.0) == low
    assert delay(attempt, rand=lambda: 1.0) == high


def test_backoff_resets_after_a_success() -> None:
    b = Backoff(rand=lambda: 1.0)
    assert [b.next() for _ in range(4)] == [1.0, 2.0, 4.0, 8.0]
    b.reset()
    assert b.next() == 1.0


# ---------------------------------------------------------------- who waits where
@pytest.mark.parametrize(("watch", "notify", "idle", "expected"), [
    (["INBOX"], True, True, WaitPlan("notify", ("INBOX",),
                                     ("Archive", "Lists/dev", "Lists/ops", "Sent", "Trash"))),
    (["INBOX", "Lists/*"], True, True,
     WaitPlan("notify", ("INBOX", "Lists/dev", "Lists/ops"), ("Archive", "Sent", "Trash"))),
    (["INBOX", "Lists/*"], False, True,
     WaitPlan("idle", ("INBOX", "Lists/dev", "Lists/ops"), ("Archive", "Sent", "Trash"))),
    (["*"], False, True,          # over the cap of 3 IDLE connections: the rest is polled
     WaitPlan("idle", ("INBOX", "Archive", "Lists/dev"), ("Lists/ops", "Sent", "Trash"))),
    (["INBOX"], False, False, WaitPlan("poll", (), tuple(FOLDERS))),
    (["Nothing"], True, True, WaitPlan("poll", (), tuple(FOLDERS))),
    (["inbox"], False, True, WaitPlan("idle", ("INBOX",),
                                      ("Archive", "Lists/dev", "Lists/ops", "Sent", "Trash"))),
])
def test_plan_waits(watch: list[str], notify: bool, idle: bool, expected: WaitPlan) -> None:
    assert plan_waits(FOLDERS, watch, notify, idle) == expected


def test_watch_globs() -> None:
    assert matches("Lists/dev", ["Lists/*"]) and not matches("Listsdev", ["Lists/*"])
    assert matches("INBOX", ["Inbox"]) and not matches("Archive", ["INBOX"])


def _status(**kw: int | None) -> FolderStatus:
    base: dict[str, int | None] = {"uidvalidity": 7, "uidnext": 10, "messages": 9,
                                   "highestmodseq": 100, "unseen": 2}
    base.update(kw)
    return FolderStatus("INBOX", **base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("before", "now", "changed"), [
    (None, _status(), False),                                   # the first poll: baseline
    (_status(), _status(), False),
    (_status(), _status(uidnext=11, messages=10), True),        # new mail
    (_status(), _status(messages=8), True),                     # expunged
    (_status(), _status(highestmodseq=101), True),              # flags (CONDSTORE)
    (_status(highestmodseq=None), _status(highestmodseq=None, unseen=1), True),   # read elsewhere
    (_status(), _status(uidvalidity=8), True),
])
def test_status_changed(before: FolderStatus | None, now: FolderStatus, changed: bool) -> None:
    assert status_changed(before, now) is changed


# ---------------------------------------------------------------- IDLE / NOTIFY responses
@pytest.mark.parametrize(("resp", "change"), [
    ((3, b"EXISTS"), True), ((2, b"EXPUNGE"), True), ((4, b"FETCH", (b"FLAGS", ())), True),
    ((b"VANISHED", b"1:3"), True), ((1, b"RECENT"), False), ((b"OK", b"Still here"), False),
    ((), False), (b"junk", False)])
def test_what_idle_responses_mean(resp: object, change: bool) -> None:
    assert imap_push.is_change(resp) is change


def test_notify_status_names_and_command() -> None:
    assert imap_push.status_folder((b"STATUS", b"Lists/dev", (b"MESSAGES", 1))) == "Lists/dev"
    assert imap_push.status_folder((b"STATUS", b"&AOQ-rger", ())) == "ärger"
    assert imap_push.status_folder((3, b"EXISTS")) is None
    assert imap_push.notify_line([b'"INBOX"', b'"Lists/dev"']) == (
        b'NOTIFY SET (mailboxes ("INBOX" "Lists/dev") (MessageNew MessageExpunge FlagChange))')


def test_waiting_stops_when_asked_and_notices_a_closed_peer() -> None:
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    began = time.monotonic()
    assert imap_push.wait_slices(lambda s: time.sleep(s) or [], 30, stop.is_set,
                                 lambda r: True, "x") == []
    assert time.monotonic() - began < 1.0
    with pytest.raises(TemporaryError, match="closed while waiting"):
        imap_push.wait_slices(lambda s: [], 30, lambda: False, lambda r: True, "x:1")
    got = imap_push.wait_slices(lambda s: [(1, b"EXISTS")], 30, lambda: False,
                                lambda r: any(imap_push.is_change(x) for x in r), "x")
    assert got == [(1, b"EXISTS")]


# ---------------------------------------------------------------- events
def _env(i: int, subject: str = "Hi", sender: str = "A <a@x.org>") -> Envelope:
    return Envelope(id=i, account="work", folder="INBOX", uid=i, message_id=f"<{i}@x>",
                    date=datetime(2024, 1, 1, tzinfo=UTC), from_=sender, to="me@x.org", cc="",
                    subject=subject, flags=frozenset(), size=10, has_attachments=False)


def test_event_json_shapes() -> None:
    when = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    ev: WatchEvent = NewMail("work", folder="INBOX", messages=(_env(1),), time=when)
    doc = ev.to_json()
    assert doc["event"] == "new_mail" and doc["time"] == "2024-01-01T12:00:00+00:00"
    assert doc["account"] == "work" and doc["folder"] == "INBOX"
    assert doc["messages"] == [_env(1).to_json()]
    assert Synced("w", new=1, time=when).to_json() == {
        "event": "synced", "time": "2024-01-01T12:00:00+00:00", "account": "w", "new": 1,
        "updated": 0, "deleted": 0}
    assert HookFailed("w", command="x", exit_code=2, time=when).to_json()["exit_code"] == 2
    assert Stopped("w", time=when).to_json() == {"event": "stopped", "account": "w",
                                                 "time": "2024-01-01T12:00:00+00:00"}
    assert Stopped("w", error="refused", exit_code=3).to_json()["exit_code"] == 3
    json.dumps(doc)


# ---------------------------------------------------------------- config
def test_watch_config_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    base = {"protocol": "imap", "host": "h", "username": "u"}
    cfg = parse_config({"accounts": {"w": base}}, path).accounts["w"]
    assert (cfg.watch_folders, cfg.poll_interval, cfg.on_new_mail) == (("INBOX",), 300.0, None)
    cfg = parse_config({"accounts": {"w": {**base, "poll_interval": "2s"}},
                        "general": {"on_new_mail": "true"}}, path)
    assert cfg.accounts["w"].poll_interval == 2.0 and cfg.general.on_new_mail == "true"
    assert parse_config({"accounts": {"w": {**base, "poll_interval": "1h"}}},
                        path).accounts["w"].poll_interval == 3600.0
    for bad, key in (({"poll_interval": "0s"}, "poll_interval"), ({"poll_interval": "soon"}, "poll_interval"),
                     ({"watch_folders": []}, "watch_folders"), ({"on_new_mail": " "}, "on_new_mail")):
        with pytest.raises(ConfigError, match=f"accounts.w] {key}"):
            parse_config({"accounts": {"w": {**base, **bad}}}, path)
    with pytest.raises(ConfigError, match="only applies to imap"):
        parse_config({"accounts": {"p": {"protocol": "pop3", "host": "h", "username": "u",
                                         "watch_folders": ["INBOX"]}}}, path)


# ---------------------------------------------------------------- hooks
def _runner(command: str, timeout: float = 5.0) -> tuple[HookRunner, list[WatchEvent]]:
    got: list[WatchEvent] = []
    return HookRunner(lambda account: command, got.append, timeout=timeout), got


def test_the_hook_gets_the_batch_on_stdin_and_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    script = (f"import json, os, sys; json.dump({{'stdin': json.load(sys.stdin), "
              f"'env': [os.environ[k] for k in ('MAILCLI_ACCOUNT', 'MAILCLI_FOLDER', "
              f"'MAILCLI_NEW_COUNT')]}}, open({str(out)!r}, 'w'))")
    script_file = tmp_path / "h.py"
    script_file.write_text(script)
    runner, got = _runner(f"{sys.executable} {script_file}")
    runner(NewMail("work", folder="INBOX", messages=(_env(1), _env(2))))
    runner.close(grace=10)
    data = json.loads(out.read_text())
    assert data["env"] == ["work", "INBOX", "2"]
    assert [m["id"] for m in data["stdin"]] == [1, 2] and data["stdin"][0] == json.loads(
        json.dumps(_env(1).to_json()))
    assert got == []


def test_a_failing_hook_is_reported_and_a_hanging_one_killed() -> None:
    runner, got = _runner("cat >/dev/null; exit 4")
    runner(NewMail("work", messages=(_env(1),)))
    runner.close(grace=10)
    assert isinstance(got[0], HookFailed) and got[0].exit_code == 4
    runner, got = _runner("sleep 30 & sleep 30", timeout=0.5)
    began = time.monotonic()
    runner(NewMail("work", messages=(_env(1),)))
    assert time.monotonic() - began < 0.3          # the caller never waits for the hook
    runner.close(grace=10)
    assert isinstance(got[0], HookFailed) and got[0].timed_out and got[0].exit_code is None
    assert time.monotonic() - began < 3


def test_no_hook_and_no_messages_run_nothing() -> None:
    got: list[WatchEvent] = []
    runner = HookRunner(lambda account: None, got.append)
    runner(NewMail("work", messages=(_env(1),)))
    runner(Synced("work", new=1))
    assert runner._threads == [] and got == []


def test_notification_text_is_neutralised() -> None:
    evil = _env(1, subject="Pay \x1b[31mnow\x1b]0;title\x07 <b>bold</b>", sender="X\nY <x@y>")
    summary, body = notification_text(NewMail("work", folder="INBOX", messages=(evil,)))
    assert summary == "1 new message in work/INBOX"
    assert "\x1b" not in body and "\x07" not in body and "\n" not in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body
    many = tuple(_env(i, subject=f"s{i}") for i in range(8))
    summary, body = notification_text(NewMail("work", folder="INBOX", messages=many))
    assert summary.startswith("8 new messages") and body.endswith("... and 3 more")


def test_the_watcher_threads_shadow_nothing_of_thread() -> None:
    """Thread keeps private attributes (_started is an Event): a method of the same name
    on a subclass is silently replaced by it (this bit twice)."""
    from mailcli.sync.watch import AccountWatcher
    from mailcli.sync.watch_waiters import Waiter

    taken = set(vars(threading.Thread())) | set(dir(threading.Thread))
    for cls in (AccountWatcher, Waiter):
        own = {name for name in vars(cls) if not name.startswith("__")}
        assert own & taken <= {"run"}, own & taken
