"""Connections for discovery: TLS always verified (system store plus the test hook's CA),
connect through dns.addresses(), and a small HTTPS GET with a size cap. Failures are
None / False with a reason logged: a source that does not answer is just skipped."""
from __future__ import annotations

import http.client
import logging
import socket
import ssl
from urllib.parse import urlsplit

from mailcli.discovery import dns
from mailcli.discovery.model import DiscoverySettings

logger = logging.getLogger(__name__)
MAX_BODY = 256 * 1024   # an autoconfig file is a few kB


def tls_context(settings: DiscoverySettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.ca_file:
        ctx.load_verify_locations(cafile=settings.ca_file)
    return ctx


def connect(host: str, port: int, settings: DiscoverySettings, timeout: float) -> socket.socket:
    """A TCP connection to `host` (OSError when no address answers)."""
    last: OSError = OSError(f"{host} does not resolve")
    for ip in dns.addresses(host, port, settings, timeout)[:3]:
        try:
            return socket.create_connection((ip, port), timeout=timeout)
        except OSError as exc:
            last = exc
    raise last


def https_get(url: str, settings: DiscoverySettings, timeout: float) -> bytes | None:
    """The body of a 200 answer to GET `url` over verified HTTPS, else None."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    host, port = parts.hostname, parts.port or 443
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        raw = connect(host, port, settings, timeout)
        sock = tls_context(settings).wrap_socket(raw, server_hostname=host)
        conn = http.client.HTTPSConnection(host, port, timeout=timeout)
        conn.sock = sock
        try:
            conn.request("GET", path or "/", headers={"User-Agent": "mailcli",
                                                      "Accept": "application/xml, text/xml"})
            resp = conn.getresponse()
            if resp.status != 200:
                logger.debug("GET %s: HTTP %s", url, resp.status)
                return None
            body = resp.read(MAX_BODY + 1)
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        logger.debug("GET %s: %s", url, exc)
        return None
    return body if len(body) <= MAX_BODY else None
