"""Who a message is from: an account's identities (its own address first, then each
``[[accounts.NAME.identities]]``), its alias patterns, and their signatures.

`pick` chooses the identity a reply or forward goes out from: the first address of the
original's To, Cc and Delivered-To (in that order) that is one of the user's; an address
that only matches an alias pattern (``*@example.org``) is used as written, with the
account's name and signature. `own` says whether an address is the user's, so that
reply-all never writes to the user. Pure, except for reading a signature file.
"""
from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import getaddresses

from mailcli.config.schema import AccountConfig, IdentityConfig, SmtpConfig
from mailcli.errors import ConfigError

SIG_SEPARATOR = "-- \n"   # RFC 3676 4.3: dash, dash, space, line end


@dataclass(frozen=True)
class Identity:
    account: str
    email: str
    name: str | None = None
    signature: str = ""            # the text under the "-- " line ("" for none)
    smtp: SmtpConfig | None = None
    sent_folder: str | None = None
    pgp_sign: bool = False         # PGP/MIME defaults (the identity's, else the account's)
    pgp_encrypt: str = "never"
    pgp_key: str | None = None

    @property
    def from_(self) -> str:
        return str(Address(display_name=self.name, addr_spec=self.email)) if self.name else self.email


def _signature_text(text: str | None, path: object, account: str) -> str:
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]
        except OSError as exc:
            raise ConfigError(f"account {account!r}: cannot read signature_file {path}: "
                              f"{exc.strerror}") from None
    text = (text or "").replace("\r\n", "\n")
    if text.startswith(SIG_SEPARATOR):     # a file that carries its own separator
        text = text[len(SIG_SEPARATOR):]
    return text.strip("\n")


def identities(cfg: AccountConfig) -> list[Identity]:
    """The account's identities: its own address first (when it has one)."""
    base = _signature_text(cfg.signature, cfg.signature_file, cfg.name)
    out = []
    if cfg.email:
        out.append(Identity(cfg.name, cfg.email, cfg.display_name, base, cfg.smtp, cfg.sent_folder,
                            cfg.pgp_sign, cfg.pgp_encrypt, cfg.pgp_key))
    for ident in cfg.identities:
        out.append(_from_config(cfg, ident, base))
    return out


def _from_config(cfg: AccountConfig, ident: IdentityConfig, base: str) -> Identity:
    own = (_signature_text(ident.signature, ident.signature_file, cfg.name)
           if ident.signature is not None or ident.signature_file is not None else base)
    return Identity(cfg.name, ident.email, ident.display_name or cfg.display_name, own,
                    ident.smtp or cfg.smtp, ident.sent_folder or cfg.sent_folder,
                    cfg.pgp_sign if ident.pgp_sign is None else ident.pgp_sign,
                    ident.pgp_encrypt or cfg.pgp_encrypt, ident.pgp_key or cfg.pgp_key)


def own(cfg: AccountConfig, address: str) -> bool:
    """The address is one of the account's identities, logins or alias patterns."""
    addr = address.strip().lower()
    if not addr:
        return False
    mine = {i.email.lower() for i in identities(cfg)}
    mine |= {u.lower() for u in (cfg.username, cfg.smtp.username if cfg.smtp else "") if "@" in u}
    return addr in mine or any(fnmatch.fnmatchcase(addr, p) for p in cfg.aliases)


def for_address(cfg: AccountConfig, address: str) -> Identity | None:
    """The identity that sends as `address`: a configured one, or (for an address an
    alias pattern matches) the account's own with that address; None if it is not ours."""
    addr = address.strip()
    mine = identities(cfg)
    for ident in mine:
        if ident.email.lower() == addr.lower():
            return ident
    if addr and any(fnmatch.fnmatchcase(addr.lower(), p) for p in cfg.aliases):
        base = mine[0] if mine else Identity(cfg.name, addr, cfg.display_name, "", cfg.smtp,
                                             cfg.sent_folder, cfg.pgp_sign, cfg.pgp_encrypt,
                                             cfg.pgp_key)
        return dataclasses.replace(base, email=addr)
    return None


def default(cfg: AccountConfig) -> Identity | None:
    mine = identities(cfg)
    return mine[0] if mine else None


def pick(cfg: AccountConfig, to: Iterable[str], cc: Iterable[str],
         delivered_to: Iterable[str]) -> Identity | None:
    """The identity an answer to a message with these header values goes out from: the
    first of the user's addresses in To, then Cc, then Delivered-To; else the account's."""
    for values in (to, cc, delivered_to):
        for _name, addr in getaddresses(list(values)):
            ident = for_address(cfg, addr) if addr else None
            if ident is not None:
                return ident
    return default(cfg)


def sending_config(cfg: AccountConfig, mail_from: str) -> AccountConfig:
    """The account as seen by a message from `mail_from`: that identity's SMTP server
    and Sent folder where it sets them (the account's server_saves_sent is about the
    account's own SMTP server: another one is found out by itself)."""
    ident = for_address(cfg, mail_from)
    if ident is None or (ident.smtp is cfg.smtp and ident.sent_folder == cfg.sent_folder):
        return cfg
    saves = cfg.server_saves_sent if ident.smtp is cfg.smtp else None
    return dataclasses.replace(cfg, smtp=ident.smtp, sent_folder=ident.sent_folder,
                               server_saves_sent=saves)
