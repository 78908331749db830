"""The built-in provider table (providers.toml, package data): load it once, validate it,
and match an e-mail domain, an MX host or a server host name against it. No network."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mailcli.discovery.model import PROTOCOLS, Found, Server, fill_username, valid_host


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    domains: tuple[str, ...]
    mx: tuple[str, ...]
    servers: tuple[Server, ...]   # usernames still templates (%EMAILADDRESS% ...)
    oauth2: str | None
    oauth2_required: bool
    note: str | None
    server_saves_sent: bool = False   # its SMTP server files sent mail into Sent itself

    def found(self, email: str, source: str) -> Found:
        servers = tuple(Server(s.protocol, s.host, s.port, s.security,
                               fill_username(s.username, email)) for s in self.servers)
        return Found(source, servers, provider=self.name, oauth2=self.oauth2,
                     oauth2_required=self.oauth2_required, note=self.note,
                     server_saves_sent=self.server_saves_sent)


@cache
def providers() -> tuple[Provider, ...]:
    """Every provider of the table (a broken table is a bug: it raises ValueError)."""
    text = resources.files("mailcli.discovery").joinpath("providers.toml").read_text("utf-8")
    out = []
    for key, raw in tomllib.loads(text)["providers"].items():
        servers = []
        for s in raw["servers"]:
            server = Server(s["protocol"], s["host"], int(s["port"]), s["security"],
                            s.get("username"))
            if (server.protocol not in PROTOCOLS or server.security not in ("tls", "starttls")
                    or not valid_host(server.host)):
                raise ValueError(f"providers.toml: {key}: bad server {s}")
            servers.append(server)
        if raw.get("oauth2") not in (None, "google", "microsoft"):
            raise ValueError(f"providers.toml: {key}: unknown oauth2 preset {raw['oauth2']}")
        out.append(Provider(key, raw["name"], tuple(raw.get("domains", ())),
                            tuple(raw.get("mx", ())), tuple(servers), raw.get("oauth2"),
                            bool(raw.get("oauth2_required", False)), raw.get("note"),
                            raw.get("server_saves_sent", False) is True))
    return tuple(out)


def by_domain(domain: str) -> Provider | None:
    domain = domain.lower().rstrip(".")
    return next((p for p in providers() if domain in p.domains), None)


def _within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def by_mx(mx_host: str) -> Provider | None:
    """The provider whose mail exchangers `mx_host` belongs to (the longest match wins)."""
    host = mx_host.lower().rstrip(".")
    best = [(len(d), p) for p in providers() for d in p.mx if _within(host, d)]
    return max(best, key=lambda t: t[0])[1] if best else None


def oauth2_for_host(host: str) -> tuple[str | None, bool]:
    """(oauth2 preset, required) of the table provider that runs server `host`: so a
    Google or Microsoft server named by autoconfig/ISPDB/SRV gets the right preset."""
    host = host.lower().rstrip(".")
    for p in providers():
        if p.oauth2 and any(s.host == host for s in p.servers):
            return p.oauth2, p.oauth2_required
    return None, False


def saves_sent_for_host(smtp_host: str) -> bool:
    """Whether the table provider that runs SMTP server `smtp_host` files sent mail into
    Sent itself (so an ISPDB/SRV/MX answer naming smtp.gmail.com gets it too)."""
    host = smtp_host.lower().rstrip(".")
    return any(p.server_saves_sent and any(s.protocol == "smtp" and s.host == host
                                           for s in p.servers) for p in providers())
