"""AccountConfig builders for protocol-layer tests (real Dovecot fixture or a fake port)."""
from __future__ import annotations

from pathlib import Path

from mailcli.config.credentials import PasswordCredentials
from mailcli.config.schema import AccountConfig, Secret


def creds(password: str, user: str = "user") -> PasswordCredentials:
    """Credentials holding `password` itself (registered for redaction like a resolved one)."""
    return PasswordCredentials.known(user, password, "work")


def account_config(protocol: str, port: int, user: str, *, security: str = "tls",
                   ca_file: Path | None = None, host: str = "127.0.0.1", timeout: float = 10,
                   name: str = "work") -> AccountConfig:
    return AccountConfig(name=name, protocol=protocol, host=host, port=port, security=security,
                         username=user, secret=Secret(env="MAILCLI_TEST_PASSWORD"), tls_ca_file=ca_file,
                         timeout=timeout)


def dovecot_config(server, protocol: str, user: str, security: str = "tls", **kw) -> AccountConfig:  # noqa: ANN001
    """Config for `user` on a tests.servers.dovecot.Dovecot, trusting its per-run CA."""
    ports = server.ports
    if protocol == "imap":
        port = ports.imaps if security == "tls" else ports.imap
    else:
        port = ports.pop3s if security == "tls" else ports.pop3
    kw.setdefault("ca_file", server.ca_file)
    return account_config(protocol, port, user, security=security, **kw)
