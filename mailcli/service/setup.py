"""Account set-up, the back end of `mailcli account add` and `mailcli account password`:
validate a new account section against the real config loader, test its login, store a
password in the system keyring, and write the config. Works without an existing config
file (unlike Service.open), so it is plain functions rather than a Service part."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailcli import paths
from mailcli.config.schema import DEFAULT_PORTS, AccountConfig
from mailcli.discovery.model import Found

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewAccount:
    """A validated, not yet written account: the file's new text and the parsed account."""

    path: Path
    text: str
    account: AccountConfig


def config_path(explicit: str | Path | None = None) -> Path:
    """The config file to edit (flag > MAILCLI_CONFIG > XDG default)."""
    return Path(explicit).expanduser() if explicit else paths.default_config_path()


def default_port(protocol: str, security: str) -> int:
    return DEFAULT_PORTS[(protocol, security)]


def discover(email: str) -> Found:
    """The servers for `email` (mailcli.discovery: table, autoconfig, ISPDB, SRV, MX, probes).

    Raises:
        DiscoveryError (exit 2): nothing usable found within the time budget.
    """
    from mailcli.discovery.search import discover as run

    return run(email)


def prepare_account(path: Path, name: str, fields: dict[str, Any],
                    smtp: dict[str, Any] | None = None) -> NewAccount:
    """Validate `fields` as ``[accounts.NAME]`` appended to the file at `path`.

    Raises:
        UsageError: the account exists. ConfigError: a bad value (file, account and key named).
    """
    from mailcli.config.writer import with_account

    text, config = with_account(path, name, fields, smtp)
    return NewAccount(path, text, config.account(name))


def check_login(account: AccountConfig, password: str | None = None) -> dict[str, Any]:
    """Connect and log in, with `password` (one typed for the keyring, not stored yet) or
    else the account's configured source; returns {"protocol", "server", "capabilities",
    "folders"}.

    Raises the account layer's errors: AuthError (3), TemporaryError (75), TLSError,
    CredentialError, ...
    """
    from mailcli.accounts.base import Capability
    from mailcli.accounts.registry import open_account
    from mailcli.config.credentials import Credentials, PasswordCredentials, credentials_for

    credentials: Credentials = (credentials_for(account, account.name) if password is None else
                                PasswordCredentials.known(account.username, password, account.name))
    with open_account(account, credentials) as conn:
        declared = conn.server_capabilities
        # the Account ABC declares a method; ImapAccount has a property: accept both
        caps = list(declared() if callable(declared) else declared)
        folders = len(conn.list_folders()) if conn.supports(Capability.FOLDERS) else 1
    logger.info("account %s: test connection succeeded", account.name)
    return {"protocol": account.protocol, "server": f"{account.host}:{account.port}",
            "capabilities": caps, "folders": folders}


def store_keyring_password(account: AccountConfig | str, password: str) -> None:
    """Save the password in the system keyring (CredentialError when there is none)."""
    from mailcli.config.credentials import store_password

    if isinstance(account, str):
        store_password(account, password)
    else:
        store_password(account.name, password, account.secret.keyring_user or account.name)


def save_account(new: NewAccount) -> None:
    """Write the config file (atomically; the rest of the file is kept as it was)."""
    from mailcli.config.writer import write_config_text

    write_config_text(new.path, new.text)
    logger.info("account %s added to %s", new.account.name, new.path)


def account_names(path: Path) -> set[str]:
    """The account names the config file at `path` already has (none when it is missing
    or unreadable: writing validates the whole file anyway)."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    accounts = data.get("accounts")
    return set(accounts) if isinstance(accounts, dict) else set()


def keyring_problem() -> str | None:
    """Why the system keyring cannot hold a password here (None: it can). A headless
    machine has no Secret Service: the keyring library then falls back to a backend that
    refuses every call."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable
        return f"{type(exc).__name__}: {exc}"
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return f"no usable keyring backend ({type(backend).__name__})"
    return None


def server_certificate(host: str, port: int, timeout: float = 10) -> tuple[str, str] | None:
    """The certificate an implicit-TLS server presents, unverified: (PEM, SHA-256
    fingerprint as AA:BB:...), for the user to decide whether to trust it; None when the
    server cannot be reached."""
    import hashlib
    import ssl

    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
    except (OSError, ValueError):
        return None
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return pem, ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def save_trusted_certificate(config: Path, name: str, pem: str) -> Path:
    """Keep a certificate the user chose to trust next to the config (0600), for
    ``tls_ca_file``; returns its path."""
    import os

    certs = config.parent / "certs"
    paths.make_private_dir(certs)
    target = certs / f"{name}.pem"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(pem)
    return target
