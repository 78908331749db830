"""The one exception hierarchy of mailcli and the exit codes of SPEC.md.

Every error carries a one-line `message` and an optional `hint`. The CLI maps
`exit_code` to the process status; the TUI maps the class to a notification.
Imports nothing from mailcli and no third-party package.
"""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PARTIAL = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    TEMPORARY = 75
    INTERRUPTED = 130


class MailcliError(Exception):
    """Base of every error mailcli raises on purpose."""

    exit_code: ExitCode = ExitCode.PARTIAL
    title = "Error"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MailcliError):
    exit_code = ExitCode.USAGE
    title = "Usage error"


class ConfigError(MailcliError):
    exit_code = ExitCode.USAGE
    title = "Configuration error"


class CredentialError(ConfigError):
    """No password could be obtained (command failed, env unset, no keyring)."""

    title = "Password unavailable"


class AuthError(MailcliError):
    exit_code = ExitCode.AUTH
    title = "Authentication failed"


class NotFoundError(MailcliError):
    exit_code = ExitCode.NOT_FOUND
    title = "Not found"


class TemporaryError(MailcliError):
    """Worth retrying later: server unreachable, timeouts, connection reset."""

    exit_code = ExitCode.TEMPORARY
    title = "Temporary failure"


class LockHeld(TemporaryError):
    title = "Busy"


class TLSError(MailcliError):
    """Certificate or TLS negotiation problem (never retried blindly)."""

    title = "TLS error"


class ProtocolError(MailcliError):
    """The server said NO/BAD or answered something we cannot use."""

    title = "Server error"


class ReplyTooLarge(ProtocolError):
    """A server reply for one message went past every size cap (the connection is
    dropped: the rest of the reply is never read). `number` is the POP3 message number."""

    def __init__(self, message: str, *, number: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.number = number


class UnsupportedError(MailcliError):
    """The account's protocol cannot do this (declared by capabilities)."""

    exit_code = ExitCode.USAGE
    title = "Not supported"


class FolderError(MailcliError):
    title = "Folder error"


class MessageError(MailcliError):
    title = "Message error"


class SendError(MailcliError):
    title = "Sending failed"


class PgpError(MailcliError):
    """GnuPG could not sign, encrypt or run at all: nothing was sent."""

    title = "PGP error"
