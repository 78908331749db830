"""Loopback TCP proxies in front of a real server that misbehave on purpose.

FaultProxy:

Faults (each applies to the first `faulty` connections only, later ones pass through):
- ``cut_down_at=N``: close both sides once N bytes went from the server to the client
  (a link dropped mid-reply, possibly mid-TLS-record or mid-handshake);
- ``cut_up_at=N``: the same on the client-to-server direction;
- ``stall_down_at=N``: after N server bytes stop forwarding but keep the connection
  open (a dead peer behind a NAT: only a timeout ends it);
- ``trickle=(chunk, delay)``: deliver the server's bytes `chunk` at a time with `delay`
  seconds between the pieces (a very slow link);
- ``replace={old: new}``: rewrite the server's bytes (a man in the middle stripping
  STARTTLS from the capabilities);
- ``on_client(data)``: called with each chunk the client sends, before it is forwarded
  (e.g. to change the mailbox behind the client's back at an exact protocol step).
- ``rewrite(n, data)``: returns what the client gets instead of each chunk the server sent
  on the n-th connection (1-based): a server that lies (a LIST without folders, a new
  UIDVALIDITY on every connection). The chunks are whole lines for small replies.

Everything the client sends is recorded in ``client_bytes`` (to prove that no
credential crossed a link it should not have). `source` binds the upstream side to
another loopback address (Dovecot penalises an IP after failed logins).
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from tests.fakes.base import LoopbackServer


class FaultProxy(LoopbackServer):
    def __init__(self, target_port: int, *, cut_down_at: int | None = None,
                 cut_up_at: int | None = None, stall_down_at: int | None = None,
                 trickle: tuple[int, float] | None = None,
                 replace: dict[bytes, bytes] | None = None, faulty: int = 1 << 30,
                 on_client: Callable[[bytes], None] | None = None,
                 rewrite: Callable[[int, bytes], bytes] | None = None,
                 host: str = "127.0.0.1", source: str | None = None) -> None:
        self.target = (host, target_port)
        self.cut_down_at, self.cut_up_at, self.stall_down_at = cut_down_at, cut_up_at, stall_down_at
        self.trickle = trickle
        self.replace = replace or {}
        self.on_client = on_client
        self.rewrite = rewrite
        self.faulty = faulty
        self.source = (source, 0) if source else None
        self.fired = threading.Event()          # a cut or stall happened
        self.client_bytes = bytearray()
        self.connections = 0
        self._lock = threading.Lock()
        self._upstreams: list[socket.socket] = []
        super().__init__(self._serve)

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            number = self.connections
            faulty = number <= self.faulty
        upstream = socket.create_connection(self.target, timeout=30, source_address=self.source)
        self._upstreams.append(upstream)
        client.settimeout(30)
        closed = threading.Event()

        def close_both() -> None:
            closed.set()
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def pump_up() -> None:
            sent = 0
            try:
                while data := client.recv(65536):
                    with self._lock:
                        self.client_bytes += data
                    if self.on_client is not None:
                        self.on_client(data)
                    if faulty and self.cut_up_at is not None and sent + len(data) > self.cut_up_at:
                        upstream.sendall(data[: self.cut_up_at - sent])
                        self.fired.set()
                        close_both()
                        return
                    upstream.sendall(data)
                    sent += len(data)
            except OSError:
                pass
            finally:
                try:
                    upstream.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                closed.set()

        up = threading.Thread(target=pump_up, daemon=True)
        up.start()
        sent = 0
        try:
            while not closed.is_set():
                try:
                    data = upstream.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                for old, new in self.replace.items():
                    data = data.replace(old, new)
                if self.rewrite is not None:
                    data = self.rewrite(number, data)
                if faulty and self.cut_down_at is not None and sent + len(data) > self.cut_down_at:
                    client.sendall(data[: self.cut_down_at - sent])
                    self.fired.set()
                    close_both()
                    break
                if faulty and self.stall_down_at is not None and sent + len(data) > self.stall_down_at:
                    client.sendall(data[: self.stall_down_at - sent])
                    self.fired.set()
                    closed.wait(60)             # hold the line open until the client gives up
                    break
                if faulty and self.trickle is not None:
                    chunk, delay = self.trickle
                    for i in range(0, len(data), chunk):
                        client.sendall(data[i:i + chunk])
                        time.sleep(delay)
                else:
                    client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            close_both()
            upstream.close()
            up.join(timeout=2)

    def stop(self) -> None:
        for s in self._upstreams:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().stop()


class TcpProxy(FaultProxy):
    """The simple form used by the protocol-layer tests: rewrite the server's bytes
    (`replace`) and/or cut the link after `cut_after` bytes from the server; `cut` is set
    when that happened."""

    def __init__(self, target_port: int, *, replace: dict[bytes, bytes] | None = None,
                 cut_after: int | None = None, host: str = "127.0.0.1",
                 source: str | None = None) -> None:
        super().__init__(target_port, replace=replace, cut_down_at=cut_after, host=host,
                         source=source)

    @property
    def cut(self) -> threading.Event:
        return self.fired
