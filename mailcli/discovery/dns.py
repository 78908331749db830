"""DNS for discovery (dnspython): SRV and MX records, and host addresses when a name
server is injected (MAILCLI_DISCOVERY_DNS, a test hook) — otherwise addresses come from
the system (getaddrinfo, so /etc/hosts counts). Every failure is "no answer": discovery
moves on to the next source."""
from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

from mailcli.discovery.model import DiscoverySettings, valid_host

logger = logging.getLogger(__name__)


def _resolver(settings: DiscoverySettings, timeout: float) -> Any:
    import dns.resolver

    if settings.dns:
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [settings.dns[0]]
        r.port = settings.dns[1]
    else:
        r = dns.resolver.Resolver()
    r.timeout = r.lifetime = max(0.1, timeout)
    return r


def _query(name: str, rdtype: str, settings: DiscoverySettings, timeout: float) -> list[Any]:
    import dns.exception

    try:
        return list(_resolver(settings, timeout).resolve(name, rdtype, search=False))
    except dns.exception.DNSException as exc:
        logger.debug("dns %s %s: %s", rdtype, name, type(exc).__name__)
        return []
    except OSError as exc:   # no network at all
        logger.debug("dns %s %s: %s", rdtype, name, exc)
        return []


def srv(name: str, settings: DiscoverySettings, timeout: float) -> list[tuple[str, int]]:
    """(target, port) best first (priority, then weight); RFC 6186's "." (the service is
    not offered) and bad names are left out."""
    records = sorted(_query(name, "SRV", settings, timeout),
                     key=lambda r: (r.priority, -r.weight))
    out = []
    for r in records:
        target = r.target.to_text(omit_final_dot=True)
        if target and target != "." and valid_host(target) and 0 < r.port < 65536:
            out.append((target.lower(), int(r.port)))
    return out


def mx(domain: str, settings: DiscoverySettings, timeout: float) -> list[str]:
    """The domain's mail exchangers, lowest preference first."""
    records = sorted(_query(domain, "MX", settings, timeout), key=lambda r: r.preference)
    hosts = [r.exchange.to_text(omit_final_dot=True).lower() for r in records]
    return [h for h in hosts if h and valid_host(h)]


def addresses(host: str, port: int, settings: DiscoverySettings, timeout: float) -> list[str]:
    """IP addresses to connect to for `host` (empty when it does not resolve)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    if settings.dns:
        return [r.address for r in _query(host, "A", settings, timeout)]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        logger.debug("resolve %s: %s", host, exc)
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
