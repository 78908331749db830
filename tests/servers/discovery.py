"""Local servers for the discovery tests, loopback only: an HTTPS server for autoconfig
files and the ISPDB, a DNS server (UDP, built on dnspython's message module) for SRV, MX
and A records, a TLS greeter for the host-name probes, and the certificate they share
(self-signed, one SAN per test host name). mailcli reaches them through the
MAILCLI_DISCOVERY_* test hooks (`Lab.env()`), never the internet."""
from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset

DOMAINS = ["auto.test", "wellknown.test", "ispdb.test", "srv.test", "mx.test", "mailhost.test",
           "probe.test", "nothing.test"]
PREFIXES = ["", "autoconfig.", "imap.", "mail.", "pop.", "pop3.", "smtp."]


def make_cert(directory: Path, names: list[str]) -> tuple[Path, Path]:
    cert, key = directory / "disc-cert.pem", directory / "disc-key.pem"
    san = ",".join([f"DNS:{n}" for n in names] + ["IP:127.0.0.1"])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=discovery test",
                    "-addext", f"subjectAltName={san}"], check=True, capture_output=True)
    return cert, key


class HTTPS:
    """Serves `files[(host, path)] = body`; anything else is a 404. Records what was asked."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.requests: list[tuple[str, str]] = []
        lab = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                path = self.path.split("?")[0]
                lab.requests.append((host, path))
                body = lab.files.get((host, path))
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/xml")
                self.end_headers()
                self.wfile.write(body or b"not here")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DNS:
    """Answers from `records[(name, type)] = [rdata text]`; unknown names are NXDOMAIN.
    `silent=True` makes it a black hole (never answers)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.queries: list[tuple[str, str]] = []
        self.silent = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 - a test server ignores garbage
                continue
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            rdtype = dns.rdatatype.to_text(question.rdtype)
            self.queries.append((name, rdtype))
            if self.silent:
                continue
            reply = dns.message.make_response(query)
            answers = self.records.get((name, rdtype))
            if answers:
                reply.answer.append(dns.rrset.from_text_list(name + ".", 60, "IN", rdtype,
                                                             answers))
            elif not any(n == name for n, _ in self.records):
                reply.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(reply.to_wire(), peer)

    def stop(self) -> None:
        self._stop = True
        self.sock.close()


class Greeter:
    """A TLS server that greets like an IMAP server ("* OK") and hangs up."""

    def __init__(self, cert: Path, key: Path, greeting: bytes = b"* OK test server ready\r\n") -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.ctx, self.greeting = ctx, greeting
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._greet, args=(conn,), daemon=True).start()

    def _greet(self, conn: socket.socket) -> None:
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(self.greeting)
        except (OSError, ssl.SSLError):
            conn.close()

    def stop(self) -> None:
        self.sock.close()


@dataclass
class Lab:
    """The three servers and the CA file; `env()` points mailcli at them."""

    https: HTTPS
    dns: DNS
    greeter: Greeter
    ca_file: Path
    closed_port: int
    extra: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {"MAILCLI_DISCOVERY_ISPDB_URL": f"https://127.0.0.1:{self.https.port}/v1.1/",
                "MAILCLI_DISCOVERY_AUTOCONFIG_PORT": str(self.https.port),
                "MAILCLI_DISCOVERY_DNS": f"127.0.0.1:{self.dns.port}",
                "MAILCLI_DISCOVERY_CA_FILE": str(self.ca_file),
                "MAILCLI_DISCOVERY_PROBE_PORTS":
                    f"imap={self.closed_port},pop3={self.closed_port},"
                    f"smtp={self.closed_port},submission={self.closed_port}",
                **self.extra}


def start(directory: Path) -> Lab:
    names = [p + d for d in DOMAINS for p in PREFIXES]
    cert, key = make_cert(directory, names)
    lab = Lab(HTTPS(cert, key), DNS(), Greeter(cert, key), cert, _closed_port())
    for name in names:
        lab.dns.records[(name, "A")] = ["127.0.0.1"]
    return lab


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(lab: Lab) -> None:
    lab.https.stop()
    lab.dns.stop()
    lab.greeter.stop()
