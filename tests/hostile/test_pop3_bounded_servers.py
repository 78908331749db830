"""`mailcli fetch` (a real process) against POP3 servers that never finish a reply, or
trickle it a byte at a time, or lie about a message's size (the scripted FakePop3Server).
Each run ends in a bounded time and memory with exit 75 or 1 and a one-line error;
nothing is deleted on the server that is not stored; the next run gets the rest.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.hostile.conftest import Box, assert_clean_failure, message
from tests.hostile.test_pop3_lying_servers import box_for, counts, fake, fetch_json


def test_retr_without_final_dot_fails_that_message_only(tmp_path: Path) -> None:
    """Audit #17.8: a RETR that never ends grew to 1.2 GB in 3 s. Now it is cut at twice
    the announced size plus slack, that message is reported once and left on the
    server, and the next run gets the others."""
    msgs = [message(i, "e") for i in range(3)]
    with fake(msgs, endless={2}) as server:
        b = box_for(server, tmp_path)
        t0 = time.monotonic()
        r = b.mailcli("fetch", timeout=60)
        assert time.monotonic() - t0 < 20
        err = assert_clean_failure(r, (1,))
        assert "runs past" in err and "left on the server" in err, err
        assert counts(server.held()) == counts(msgs)           # nothing deleted
        assert b.local_hashes() == counts(msgs[:1])
        code, acct, err = fetch_json(b)
        assert code == 0 and (acct["new"], acct["deleted"]) == (1, 2), err
        assert server.held() == [msgs[1]]
        assert b.local_hashes() == counts([msgs[0], msgs[2]])


def timed_out_soon(b: Box) -> None:
    """`mailcli fetch` ends with exit 75, 'timed out', in well under 10 s."""
    t0 = time.monotonic()
    r = b.mailcli("fetch", timeout=60)
    took = time.monotonic() - t0
    err = assert_clean_failure(r, (75,))
    assert "timed out" in err, err
    assert took < 10, f"a trickling server must cost a bounded time, took {took:.1f} s"


def test_trickling_server_ends_the_run_with_75_in_bounded_time(tmp_path: Path) -> None:
    """Audit #17.8: one byte every 3 s with timeout = 5 was still running after 75 s,
    holding the account lock. Every reply now has a wall-clock deadline."""
    msgs = [message(i, "t") for i in range(2)]
    with fake(msgs, trickle=0.3) as server:
        b = box_for(server, tmp_path, "timeout = 1\n")
        timed_out_soon(b)
        assert counts(server.held()) == counts(msgs)
        server.trickle = None                                  # the lock was released
        code, acct, err = fetch_json(b)
        assert code == 0 and (acct["new"], acct["deleted"]) == (2, 2), err
        assert server.held() == [] and b.local_hashes() == counts(msgs)


@pytest.mark.parametrize("size", [10, 10_000_000])
def test_a_lying_list_size_never_costs_unbounded_memory(tmp_path: Path, size: int) -> None:
    """LIST announces `size`; RETR never ends. The cap follows the announcement (10 bytes
    -> cut at once; 10 MB -> cut at 20 MB), the run stays small and nothing is deleted."""
    msgs = [message(1, "z")]
    with fake(msgs, sizes={1: size}, endless={1}) as server:
        b = box_for(server, tmp_path)
        r = b.mailcli("fetch", timeout=60)
        err = assert_clean_failure(r, (1,))
        assert "runs past" in err, err
        assert server.held() == msgs and b.local_hashes() == Counter()


@pytest.mark.dovecot
def test_trickling_link_to_dovecot_ends_with_75_in_bounded_time(dovecot, tmp_path: Path) -> None:  # noqa: ANN001
    """The real server behind a plaintext loopback link delivering one byte per 0.3 s:
    each byte beats `timeout = 1`, so only a wall-clock deadline ends the run. (Over TLS
    Python already bounds a handshake or a record read by `timeout` as a whole.)"""
    from tests.fakes.proxy import FaultProxy
    from tests.hostile.conftest import new_box

    b = new_box(dovecot, tmp_path / "b", "pop3", security="none", extra="timeout = 1")
    msgs = [message(i, "tr") for i in range(3)]
    dovecot.seed(b.user, msgs)
    with FaultProxy(b.default_port("none"), trickle=(1, 0.3)) as proxy:
        b.write(port=proxy.port, security="none", extra="timeout = 1")
        timed_out_soon(b)
    assert dovecot.count(b.user) == 3
    b.write(security="none")   # the default timeout: under load a login alone can take 1 s
    code, acct, err = fetch_json(b)
    assert code == 0 and (acct["new"], acct["deleted"]) == (3, 3), err
    assert b.local_hashes() == counts(msgs) and dovecot.count(b.user) == 0


def test_endless_headers_of_a_big_message_skip_only_that_message(tmp_path: Path) -> None:
    """max_message_size: headers only (TOP n 0), and the server's TOP never ends."""
    msgs = [message(i, "h", lines=5 + 40 * (i % 2)) for i in range(3)]   # 1 is big
    with fake(msgs, endless_top={2}) as server:
        b = box_for(server, tmp_path, "max_message_size = 1000\n")
        err = assert_clean_failure(b.mailcli("fetch", timeout=60), (1,))
        assert "runs past" in err, err
        assert counts(server.held()) == counts(msgs)
        code, acct, err = fetch_json(b)
        assert code == 0 and acct["deleted"] == 2, err
        assert server.held() == [msgs[1]] and b.local_hashes() == counts([msgs[0], msgs[2]])
