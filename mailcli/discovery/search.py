"""The order of discovery, under one time budget (about 5 s a request, 20 s in all):

1. the built-in provider table (no network at all for a known domain);
2. the domain's autoconfig file;  3. the Thunderbird ISPDB;  4. RFC 6186 SRV records;
5. the MX host: its provider in the table, else the ISPDB entry of its domain;
6. the usual host names, probed with TLS verified.

Sources 2-5 are asked at once and their answers taken in this order, so the slowest
source costs its timeout once, not the sum. A source that answers nothing, or only
plaintext servers, does not stop the search; the first with a usable server wins."""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from mailcli.discovery import autoconfig, dns, probe, table
from mailcli.discovery.model import DiscoveryError, DiscoverySettings, Found, Server, split_address

logger = logging.getLogger(__name__)

# RFC 6186 (+ RFC 8314 _submissions): service label -> (protocol, security)
SRV_SERVICES = [("_imaps._tcp", "imap", "tls"), ("_imap._tcp", "imap", "starttls"),
                ("_pop3s._tcp", "pop3", "tls"), ("_pop3._tcp", "pop3", "starttls"),
                ("_submissions._tcp", "smtp", "tls"), ("_submission._tcp", "smtp", "starttls")]


def discover(email: str, settings: DiscoverySettings | None = None) -> Found:
    """The servers for `email`, from the first source that knows them.

    Raises:
        DiscoveryError: not an address, or no source named a usable (non-plaintext)
            server within the budget; the message names what was tried.
    """
    settings = settings or DiscoverySettings.from_env()
    _, domain = split_address(email)
    known = table.by_domain(domain)
    if known:
        found = known.found(email, f"the built-in provider table ({known.name})")
    else:
        found = _Search(email, domain, settings).run()
    smtp = found.smtp()
    if not found.server_saves_sent and smtp is not None and table.saves_sent_for_host(smtp.host):
        found = dataclasses.replace(found, server_saves_sent=True)
    return found


class _Search:
    def __init__(self, email: str, domain: str, settings: DiscoverySettings) -> None:
        self.email, self.domain, self.settings = email, domain, settings
        self.deadline = time.monotonic() + settings.budget
        self.tried: list[str] = ["built-in table: not a listed domain"]
        self.plaintext: list[Server] = []

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def timeout(self) -> float:
        return max(0.05, min(self.settings.timeout, self.left()))

    def _wait(self, future: Future[Any], what: str) -> Any:
        try:
            return future.result(timeout=max(0.0, self.left()))
        except FutureTimeout:
            self.tried.append(f"{what}: no answer in time")
            return None

    def _take(self, found: Found | None, what: str) -> Found | None:
        if found is None:
            self.tried.append(f"{what}: nothing")
            return None
        self.plaintext.extend(found.plaintext)
        if not found.servers:
            self.tried.append(f"{what}: only plaintext servers (not proposed)")
            return None
        return dataclasses.replace(found, plaintext=tuple(self.plaintext),
                                   tried=tuple(self.tried))

    def run(self) -> Found:
        s, t, d, e = self.settings, self.timeout(), self.domain, self.email
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="discover")
        try:
            steps: list[tuple[str, Callable[[], Found | None]]] = []
            auto = pool.submit(autoconfig.from_domain, d, e, s, t)
            ispdb = pool.submit(autoconfig.from_ispdb, d, e, s, t)
            srv = pool.submit(self._srv, t)
            mx = pool.submit(dns.mx, d, s, t)
            steps = [("autoconfig", lambda: self._wait(auto, "autoconfig")),
                     ("ISPDB", lambda: self._wait(ispdb, "ISPDB")),
                     ("DNS SRV", lambda: self._wait(srv, "DNS SRV")),
                     ("MX", lambda: self._mx(self._wait(mx, "MX") or []))]
            for what, step in steps:
                found = self._take(step(), what)
                if found:
                    return found
                if self.left() <= 0:
                    break
            if self.left() > 0.05:
                servers = probe.probe(d, e, s, self.timeout())
                found = self._take(Found(f"probing the usual host names of {d} (TLS verified)",
                                         tuple(servers)) if servers else None, "probes")
                if found:
                    return found
            else:
                self.tried.append("probes: no time left")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        raise DiscoveryError(
            f"no mail servers found for {d} within {s.budget:g} s "
            f"(tried the table, autoconfig, ISPDB, SRV, MX and the usual host names)",
            hint="give --host, --protocol and --security yourself (or --no-discover)")

    def _srv(self, timeout: float) -> Found | None:
        servers = []
        for label, proto, security in SRV_SERVICES:
            if self.left() <= 0:    # the search gave up: no queries after its budget
                break
            for host, port in dns.srv(f"{label}.{self.domain}", self.settings,
                                      min(timeout, self.left())):
                servers.append(Server(proto, host, port, security, self.email))
        if not servers:
            return None
        oauth2, required = next((table.oauth2_for_host(x.host) for x in servers
                                 if table.oauth2_for_host(x.host)[0]), (None, False))
        return Found(f"DNS SRV records of {self.domain} (RFC 6186)", tuple(servers),
                     oauth2=oauth2, oauth2_required=required)

    def _mx(self, hosts: list[str]) -> Found | None:
        if not hosts:
            return None
        host = hosts[0]
        known = table.by_mx(host)
        if known:
            return known.found(self.email, f"the MX host {host} -> the built-in provider "
                                           f"table ({known.name})")
        for base in _base_domains(host):
            if base == self.domain or self.left() <= 0:
                continue
            found = autoconfig.from_ispdb(base, self.email, self.settings, self.timeout(),
                                          source=f"the MX host {host} -> the Thunderbird "
                                                 f"ISPDB entry of {base}")
            if found:
                return found
        return None


def _base_domains(host: str) -> list[str]:
    """The domain of an MX host to look up in the ISPDB: the last two labels (three under
    a two-level suffix such as co.uk)."""
    labels = host.rstrip(".").split(".")
    if len(labels) < 2:
        return []
    if len(labels) >= 3 and labels[-2] in {"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or"}:
        return [".".join(labels[-3:])]
    return [".".join(labels[-2:])]
