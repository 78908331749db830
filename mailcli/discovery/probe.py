"""The last resort of discovery: connect to the usual host names (imap.<domain>,
mail.<domain>, ...) on the usual TLS ports and keep those that greet like a mail server
after a TLS handshake with a verified certificate for that very name. Plaintext ports are
never probed; port 587 counts only after a STARTTLS that succeeds."""
from __future__ import annotations

import logging
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor, wait

from mailcli.discovery import net
from mailcli.discovery.model import DiscoverySettings, Server

logger = logging.getLogger(__name__)

_CANDIDATES = [  # (protocol, host prefix, port key, security), best first
    ("imap", "imap.", "imap", "tls"), ("imap", "mail.", "imap", "tls"), ("imap", "", "imap", "tls"),
    ("pop3", "pop.", "pop3", "tls"), ("pop3", "pop3.", "pop3", "tls"), ("pop3", "mail.", "pop3", "tls"),
    ("smtp", "smtp.", "smtp", "tls"), ("smtp", "mail.", "smtp", "tls"),
    ("smtp", "smtp.", "submission", "starttls"), ("smtp", "mail.", "submission", "starttls"),
]
_GREETING = {"imap": (b"* OK", b"* PREAUTH"), "pop3": (b"+OK",), "smtp": (b"220",)}


def _line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < 4096:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def _smtp_reply(sock: socket.socket) -> bytes:
    """A whole (multi-line) SMTP reply."""
    lines = b""
    while True:
        line = _line(sock)
        lines += line
        if len(line) < 4 or line[3:4] != b"-" or len(lines) > 16384:
            return lines


def _probe(host: str, port: int, proto: str, security: str, settings: DiscoverySettings,
           timeout: float) -> bool:
    ctx = net.tls_context(settings)
    try:
        with net.connect(host, port, settings, timeout) as raw:
            if security == "starttls":   # SMTP submission only
                if not _smtp_reply(raw).startswith(b"220"):
                    return False
                raw.sendall(b"EHLO mailcli.invalid\r\n")
                if b"STARTTLS" not in _smtp_reply(raw).upper():
                    return False
                raw.sendall(b"STARTTLS\r\n")
                if not _smtp_reply(raw).startswith(b"220"):
                    return False
                with ctx.wrap_socket(raw, server_hostname=host):
                    return True
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                return _line(tls).startswith(_GREETING[proto])
    except (OSError, ssl.SSLError) as exc:
        logger.debug("probe %s:%s: %s", host, port, exc)
        return False


def probe(domain: str, email: str, settings: DiscoverySettings, timeout: float) -> list[Server]:
    """The servers that answered, best first (all probes run at once, `timeout` in all)."""
    jobs = [(proto, prefix + domain, settings.probe_ports[key], security)
            for proto, prefix, key, security in _CANDIDATES]
    pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="probe")
    futures = [pool.submit(_probe, host, port, proto, sec, settings, timeout)
               for proto, host, port, sec in jobs]
    wait(futures, timeout=timeout + 0.5)
    pool.shutdown(wait=False, cancel_futures=True)
    return [Server(proto, host, port, sec, email)
            for (proto, host, port, sec), f in zip(jobs, futures)
            if f.done() and not f.cancelled() and f.exception() is None and f.result()]
