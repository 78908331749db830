"""TcpProxy: forwards loopback connections to a real server, optionally rewriting what
the server says (e.g. stripping STARTTLS/STLS from capabilities) or cutting the
connection after N bytes from the server (a dropped link mid-reply). `source` binds the
upstream side to another loopback address (127.0.0.N), e.g. so that Dovecot's per-IP
penalty for failed logins does not slow down every other test."""
from __future__ import annotations

import socket
import threading

from tests.fakes.base import LoopbackServer


class TcpProxy(LoopbackServer):
    def __init__(self, target_port: int, *, replace: dict[bytes, bytes] | None = None,
                 cut_after: int | None = None, host: str = "127.0.0.1", source: str | None = None) -> None:
        self.target = (host, target_port)
        self.replace = replace or {}
        self.cut_after = cut_after
        self.source = (source, 0) if source else None
        self.cut = threading.Event()
        super().__init__(self._serve)

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target, timeout=10, source_address=self.source)
        done = threading.Event()

        def pump_up() -> None:
            try:
                while data := client.recv(65536):
                    upstream.sendall(data)
            except OSError:
                pass
            finally:
                done.set()
                try:
                    upstream.shutdown(socket.SHUT_WR)   # pass the client's EOF on
                except OSError:
                    pass

        t = threading.Thread(target=pump_up, daemon=True)
        t.start()
        sent = 0
        try:
            while not done.is_set():
                try:
                    data = upstream.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                for old, new in self.replace.items():
                    data = data.replace(old, new)
                if self.cut_after is not None and sent + len(data) > self.cut_after:
                    client.sendall(data[: self.cut_after - sent])
                    self.cut.set()
                    client.shutdown(socket.SHUT_RDWR)
                    break
                client.sendall(data)
                sent += len(data)
        finally:
            upstream.close()
            client.close()
            t.join(timeout=2)
