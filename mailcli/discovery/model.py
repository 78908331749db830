"""The values discovery hands back: one server (`Server`), one source's complete answer
(`Found`), and the settings it runs with (`DiscoverySettings`, with the test hooks)."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mailcli.errors import UsageError

PROBE_TIMEOUT = 5.0   # seconds for one connection, HTTP request or DNS query
BUDGET = 20.0         # seconds for the whole search

_HOST = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                   r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$")
SECURITIES = ("tls", "starttls", "none")
PROTOCOLS = ("imap", "pop3", "smtp")


class DiscoveryError(UsageError):
    """Nothing usable was found (or the address cannot be searched); exit 2."""

    title = "Discovery failed"


def valid_host(name: str) -> bool:
    """A DNS host name (what a server or a file names is checked before use or display)."""
    return bool(_HOST.match(name))


@dataclass(frozen=True)
class Server:
    """One server a source names. `username` has the placeholders already filled in."""

    protocol: str   # "imap" | "pop3" | "smtp"
    host: str
    port: int
    security: str   # "tls" | "starttls" | "none"
    username: str | None = None

    @property
    def plaintext(self) -> bool:
        return self.security == "none"

    def __str__(self) -> str:
        return f"{self.protocol} {self.host}:{self.port} {self.security}"


@dataclass(frozen=True)
class Found:
    """What one source said about a domain, servers best first (plaintext ones only in
    `plaintext`, never proposed). `oauth2` is the oauth2_provider preset when the provider
    signs in with OAuth2; `oauth2_required` when it takes no passwords at all;
    `server_saves_sent` when its SMTP server files sent mail into Sent itself."""

    source: str
    servers: tuple[Server, ...]
    provider: str | None = None
    oauth2: str | None = None
    oauth2_required: bool = False
    note: str | None = None
    plaintext: tuple[Server, ...] = ()
    tried: tuple[str, ...] = ()
    server_saves_sent: bool = False   # the SMTP server files what it sends into Sent itself

    def incoming(self, protocol: str | None = None) -> Server | None:
        """The best IMAP server (else POP3), or the best of `protocol`."""
        wanted = (protocol,) if protocol else ("imap", "pop3")
        for proto in wanted:
            for s in self.servers:
                if s.protocol == proto:
                    return s
        return None

    def smtp(self) -> Server | None:
        return next((s for s in self.servers if s.protocol == "smtp"), None)


def fill_username(template: str | None, email: str) -> str | None:
    if template is None:
        return None
    local, _, domain = email.rpartition("@")
    return (template.replace("%EMAILADDRESS%", email).replace("%EMAILLOCALPART%", local)
            .replace("%EMAILDOMAIN%", domain))


def split_address(email: str) -> tuple[str, str]:
    """(local part, lower-case domain); a DiscoveryError for something that is no address."""
    local, at, domain = email.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    if not at or not local or not valid_host(domain) or "." not in domain:
        raise DiscoveryError(f"cannot find servers for {email!r}: not an e-mail address",
                             hint="give --email user@example.org, or --no-discover")
    return local, domain


@dataclass(frozen=True)
class DiscoverySettings:
    """Where discovery looks. The defaults are the real services; the MAILCLI_DISCOVERY_*
    environment variables are TEST HOOKS (local servers in the test suite), not user
    features: ISPDB_URL (base URL, the domain is appended), AUTOCONFIG_PORT (the port of
    the autoconfig HTTPS requests), DNS (ip:port of the one name server to ask, also used
    for host addresses), CA_FILE (a CA trusted besides the system store), PROBE_PORTS
    (``imap=N,pop3=N,smtp=N,submission=N``: the ports probed), BUDGET (seconds)."""

    ispdb_url: str = "https://autoconfig.thunderbird.net/v1.1/"
    autoconfig_port: int = 443
    dns: tuple[str, int] | None = None
    ca_file: str | None = None
    probe_ports: Mapping[str, int] = field(default_factory=lambda: {
        "imap": 993, "pop3": 995, "smtp": 465, "submission": 587})
    timeout: float = PROBE_TIMEOUT
    budget: float = BUDGET

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DiscoverySettings:
        env = os.environ if env is None else env
        s = cls()
        kw: dict[str, object] = {}
        try:
            if env.get("MAILCLI_DISCOVERY_ISPDB_URL"):
                url = env["MAILCLI_DISCOVERY_ISPDB_URL"]
                kw["ispdb_url"] = url if url.endswith("/") else url + "/"
            if env.get("MAILCLI_DISCOVERY_AUTOCONFIG_PORT"):
                kw["autoconfig_port"] = int(env["MAILCLI_DISCOVERY_AUTOCONFIG_PORT"])
            if env.get("MAILCLI_DISCOVERY_DNS"):
                ip, _, port = env["MAILCLI_DISCOVERY_DNS"].rpartition(":")
                kw["dns"] = (ip, int(port))
            if env.get("MAILCLI_DISCOVERY_CA_FILE"):
                kw["ca_file"] = env["MAILCLI_DISCOVERY_CA_FILE"]
            if env.get("MAILCLI_DISCOVERY_PROBE_PORTS"):
                ports = dict(s.probe_ports)
                for item in env["MAILCLI_DISCOVERY_PROBE_PORTS"].split(","):
                    key, _, value = item.partition("=")
                    ports[key.strip()] = int(value)
                kw["probe_ports"] = ports
            if env.get("MAILCLI_DISCOVERY_BUDGET"):
                kw["budget"] = float(env["MAILCLI_DISCOVERY_BUDGET"])
        except ValueError as exc:
            raise UsageError(f"a MAILCLI_DISCOVERY_* test setting is malformed: {exc}") from None
        return cls(**kw)  # type: ignore[arg-type]
