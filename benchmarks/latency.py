"""A loopback latency proxy for `--rtt-ms`: every byte is held back half the round-trip
time in each direction, so a tool that waits for a reply before its next command pays
the full RTT per round trip, as over a real link; bandwidth is not limited (the proxy
reads eagerly and queues, like a link with deep buffers).

One listening socket per target port on 127.0.0.1; per connection two pumps (one per
direction), each a reader thread that stamps every chunk with its due time and a writer
thread that sends it when due. TCP_NODELAY on both legs, so Nagle adds nothing.
`python -m benchmarks.latency --rtt-ms 20 --target 127.0.0.1:143` runs one by hand.
"""
from __future__ import annotations

import argparse
import contextlib
import queue
import socket
import threading
import time

CHUNK = 256 * 1024


def _nodelay(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _pump(src: socket.socket, dst: socket.socket, delay: float) -> list[threading.Thread]:
    q: queue.SimpleQueue[tuple[float, bytes] | None] = queue.SimpleQueue()

    def read() -> None:
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                q.put((time.monotonic() + delay, data))
        except OSError:
            pass
        q.put(None)

    def write() -> None:
        try:
            while True:
                item = q.get()
                if item is None:
                    break
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
        except OSError:
            with contextlib.suppress(OSError):
                src.shutdown(socket.SHUT_RDWR)

    threads = [threading.Thread(target=read, daemon=True), threading.Thread(target=write, daemon=True)]
    for t in threads:
        t.start()
    return threads


class LatencyProxy:
    """Forwards 127.0.0.1:<self.port> to (host, port) with `rtt_ms` / 2 each way."""

    def __init__(self, host: str, port: int, rtt_ms: float) -> None:
        self.target = (host, port)
        self.delay = rtt_ms / 2000.0
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(("127.0.0.1", 0))
        self._listen.listen(64)
        self.port = self._listen.getsockname()[1]
        self._closed = False
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listen.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        # the connect itself costs one RTT too (SYN/SYN-ACK through the link)
        time.sleep(2 * self.delay)
        try:
            server = socket.create_connection(self.target, timeout=30)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        for s in (client, server):
            _nodelay(s)
        self._conns += [client, server]
        threads = _pump(client, server, self.delay) + _pump(server, client, self.delay)
        for t in threads:
            t.join()
        for s in (client, server):
            with contextlib.suppress(OSError):
                s.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listen.close()
        for s in self._conns:
            with contextlib.suppress(OSError):
                s.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    ap.add_argument("--target", required=True, help="HOST:PORT")
    args = ap.parse_args()
    host, _, port = args.target.rpartition(":")
    proxy = LatencyProxy(host, int(port), args.rtt_ms)
    print(f"127.0.0.1:{proxy.port} -> {args.target} with {args.rtt_ms} ms RTT", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.close()


if __name__ == "__main__":
    main()
