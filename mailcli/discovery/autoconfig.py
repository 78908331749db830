"""Thunderbird autoconfig files (config-v1.1.xml): parse one into a `Found`, and fetch it
from the domain (autoconfig.<domain>/mail/config-v1.1.xml, then
<domain>/.well-known/autoconfig/mail/config-v1.1.xml) or from the ISPDB. HTTPS only,
certificates verified; a file with a DOCTYPE (entities) is refused unread."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from urllib.parse import quote

from mailcli.discovery import net, table
from mailcli.discovery.model import DiscoverySettings, Found, Server, fill_username, valid_host

logger = logging.getLogger(__name__)

_SECURITY = {"SSL": "tls", "STARTTLS": "starttls", "plain": "none"}
_TYPES = {"imap": "imap", "pop3": "pop3", "smtp": "smtp"}


def parse(body: bytes, email: str, source: str) -> Found | None:
    """The servers of an autoconfig document (None when it names none we can use)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        logger.debug("%s: refused, it declares a DOCTYPE/ENTITY", source)
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        logger.debug("%s: not XML: %s", source, exc)
        return None
    provider = root.find("emailProvider")
    if root.tag != "clientConfig" or provider is None:
        return None
    good: list[Server] = []
    plain: list[Server] = []
    oauth2, required = None, False
    for tag in ("incomingServer", "outgoingServer"):
        for el in provider.findall(tag):
            proto = _TYPES.get(el.get("type", ""))
            host = (el.findtext("hostname") or "").strip().lower()
            security = _SECURITY.get((el.findtext("socketType") or "").strip())
            try:
                port = int((el.findtext("port") or "").strip())
            except ValueError:
                continue
            if not proto or not security or not valid_host(host) or not 0 < port < 65536:
                continue
            user = fill_username((el.findtext("username") or "%EMAILADDRESS%").strip(), email)
            server = Server(proto, host, port, security, user)
            (plain if server.plaintext else good).append(server)
            methods = {(a.text or "").strip() for a in el.findall("authentication")}
            if "OAuth2" in methods:
                preset, req = table.oauth2_for_host(host)
                oauth2, required = oauth2 or preset, required or req
    if not good and not plain:
        return None
    name = (provider.findtext("displayName") or "").strip() or None
    return Found(source, tuple(good), provider=name, oauth2=oauth2, oauth2_required=required,
                 plaintext=tuple(plain))


def from_domain(domain: str, email: str, settings: DiscoverySettings,
                timeout: float) -> Found | None:
    port = "" if settings.autoconfig_port == 443 else f":{settings.autoconfig_port}"
    urls = [f"https://autoconfig.{domain}{port}/mail/config-v1.1.xml?emailaddress={quote(email)}",
            f"https://{domain}{port}/.well-known/autoconfig/mail/config-v1.1.xml"]
    for url in urls:
        body = net.https_get(url, settings, timeout)
        if body is not None:
            found = parse(body, email, f"the domain's autoconfig file ({url.split('?')[0]})")
            if found:
                return found
    return None


def from_ispdb(domain: str, email: str, settings: DiscoverySettings, timeout: float,
               source: str | None = None) -> Found | None:
    url = settings.ispdb_url + quote(domain)
    body = net.https_get(url, settings, timeout)
    if body is None:
        return None
    return parse(body, email, source or f"the Thunderbird ISPDB ({url})")
