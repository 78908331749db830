"""A loopback TCP listener that runs one handler thread per connection (the fakes' base)."""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Self


class LoopbackServer:
    """Listens on 127.0.0.1:<free port>; calls handle(conn) in a thread per connection.
    Use as a context manager; `port` is the listening port."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self._handle = handle
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self.errors: list[BaseException] = []
        self._accept = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Self:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            self._handle(conn)
        except (OSError, EOFError):
            pass
        except BaseException as exc:  # recorded for the test to inspect
            self.errors.append(exc)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        self._accept.join(timeout=2)
        for conn in self._conns:       # wake handlers blocked on a client that went away
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=2)
