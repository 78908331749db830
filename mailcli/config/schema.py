"""The typed, frozen config schema: what each section may hold, defaults and port rules."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PROTOCOLS = ("imap", "pop3")
SECURITIES = ("tls", "starttls", "none")
DEFAULT_PORTS = {
    ("imap", "tls"): 993, ("imap", "starttls"): 143, ("imap", "none"): 143,
    ("pop3", "tls"): 995, ("pop3", "starttls"): 110, ("pop3", "none"): 110,
    ("smtp", "tls"): 465, ("smtp", "starttls"): 587, ("smtp", "none"): 25,
}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "localhost.localdomain")


@dataclass(frozen=True)
class Secret:
    """Where a password comes from: never the password itself."""

    command: str | None = None
    env: str | None = None
    keyring_service: str = "mailcli"
    keyring_user: str = ""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    username: str
    secret: Secret
    tls_ca_file: Path | None = None
    allow_insecure: bool = False
    timeout: float = 60.0


@dataclass(frozen=True)
class AccountConfig:
    name: str
    protocol: str
    host: str
    port: int
    security: str
    username: str
    secret: Secret
    email: str | None = None
    display_name: str | None = None
    tls_ca_file: Path | None = None
    allow_insecure: bool = False
    timeout: float = 60.0
    folders: tuple[str, ...] = ("*",)
    sent_folder: str | None = None
    trash_folder: str | None = None
    drafts_folder: str | None = None
    leave_on_server: bool = False
    keep_days: int | None = None
    delete_when_deleted_locally: bool = False
    max_message_size: int | None = None
    smtp: SmtpConfig | None = None

    @property
    def is_imap(self) -> bool:
        return self.protocol == "imap"


@dataclass(frozen=True)
class GeneralConfig:
    data_dir: Path | None = None
    editor: str | None = None


@dataclass(frozen=True)
class TuiConfig:
    keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: Path
    general: GeneralConfig
    accounts: dict[str, AccountConfig]
    tui: TuiConfig = field(default_factory=TuiConfig)

    def account(self, name: str) -> AccountConfig:
        from mailcli.errors import NotFoundError

        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none configured"
            raise NotFoundError(f"no account named {name!r} (accounts: {known})") from None
