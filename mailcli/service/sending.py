"""Sending: compose/reply/forward drafts, saved and resumed drafts, PGP, send().

Every message to send is queued first (mailcli.send.outbox: the Outbox folder plus a
write-ahead state row), then sent under a per-account send lock by
mailcli.service.flushing (which also sends what waits in the Outbox for `mailcli send`,
every `mailcli fetch` and the watcher, and finishes Sent copies). `send()` returns after
the first attempt: sent, or queued (SMTP unreachable; retried through `flush_outbox`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from mailcli.errors import LockHeld, MailcliError, UsageError
from mailcli.service.flushing import SEND_LOCK_WAIT

if TYPE_CHECKING:
    from mailcli.model import Envelope
    from mailcli.send.compose import Draft
    from mailcli.send.identity import Identity
    from mailcli.send.outbox import SendResult
    from mailcli.send.pgp import Protection
    from mailcli.service.core import ServiceCore
    from mailcli.service.flushing import Flushing
    from mailcli.service.reading import Reading

# mailcli.send.compose and .outbox are imported inside the methods, on first use:
# `mailcli list` must not pay for sending.

logger = logging.getLogger(__name__)


def parseaddr(value: str) -> tuple[str, str]:
    """email.utils.parseaddr, imported on first use (a fetch's outbox flush never parses
    an address; email.utils is a dozen modules: start-up time, issue 15)."""
    from email.utils import parseaddr as parse

    return parse(value)


def _raw_header(name: str, value: str) -> bytes:
    """One header line for a kept draft, exactly the text typed (one line, RFC 2047 for
    non-ASCII), with no parsing that could fail or drop part of it."""
    from email.header import Header

    flat = " ".join(value.split())
    text = flat if flat.isascii() else Header(flat, "utf-8").encode()
    return f"{name}: {text}\r\n".encode("ascii", "replace")


class Sending:
    """compose/reply/forward drafts, save/resume drafts, PGP choices, send."""

    def __init__(self, core: ServiceCore, reading: Callable[[], Reading],
                 flushing: Flushing) -> None:
        self.core = core
        self._reading = reading   # built on first use (a fetch's outbox flush never reads)
        self.flushing = flushing

    @property
    def reading(self) -> Reading:
        return self._reading()

    # ------------------------------------------------------------------ drafts
    def default_account(self) -> str:
        """The first configured account (UsageError when there is none)."""
        names = list(self.core.config.accounts)
        if not names:
            raise UsageError("no accounts configured", hint="add one with `mailcli account add`")
        return names[0]

    def own_addresses(self, account: str) -> list[str]:
        """The account's own addresses (left out of reply-all): email, every identity's,
        and the IMAP and SMTP usernames when they are addresses. Alias patterns are not
        listed here: `is_own` answers for them."""
        from mailcli.send import identity

        cfg = self.core.account_config(account)
        out = [i.email for i in identity.identities(cfg)]
        out += [u for u in (cfg.username, cfg.smtp.username if cfg.smtp else "") if u and "@" in u]
        return [a for a in out if a]

    def from_addresses(self, account: str) -> list[str]:
        """The From lines the account can send as: its own address first, then each
        identity's ('Name <address>'), for a composer to offer or cycle through."""
        from mailcli.send import identity

        return [i.from_ for i in identity.identities(self.core.account_config(account))]

    def is_own(self, address: str) -> bool:
        """The address is the user's: an identity, login or alias pattern of any account."""
        from mailcli.send import identity

        return any(identity.own(cfg, address) for cfg in self.core.account_configs(None))

    def _me(self, account: str) -> str:
        from mailcli.send import compose

        cfg = self.core.account_config(account)
        return compose.sender(cfg.email, cfg.display_name)

    def _identity_for(self, account: str, address: str | None = None) -> Identity:
        """The identity of `account` that sends as `address` (default: the account's)."""
        from mailcli.send import compose, identity

        cfg = self.core.account_config(account)
        ident = identity.for_address(cfg, address) if address else identity.default(cfg)
        if ident is None and address:
            raise UsageError(f"{address!r} is not one of account {account!r}'s addresses",
                             hint="add it as [[accounts.NAME.identities]] or to aliases")
        if ident is None:
            compose.sender(None, None)  # raises: no email configured
        assert ident is not None
        return ident

    def _start(self, draft: Draft, ident: Identity) -> Draft:
        """A new draft takes its identity's From and signature."""
        cfg = self.core.account_config(ident.account)
        draft.from_, draft.account = ident.from_, ident.account
        draft.signature, draft.signature_above = ident.signature, cfg.signature_above_quote
        from mailcli.send import compose

        compose.add_signature(draft)
        return draft

    def new_draft(self, account: str | None = None, from_: str | None = None) -> Draft:
        """An empty draft From the account (default: the first configured; `from_` picks
        one of its identities or alias addresses, or the account it belongs to) with
        the identity's signature."""
        from mailcli.send import compose

        if account is None and from_:
            account = self.account_of(from_)
        name = account or self.default_account()
        return self._start(compose.Draft(from_=""), self._identity_for(name, from_))

    def account_of(self, address: str) -> str:
        """The account `address` is an identity or alias of (UsageError if none is)."""
        from email.utils import parseaddr

        from mailcli.send import identity

        addr = parseaddr(address)[1] or address
        for cfg in self.core.account_configs(None):
            if identity.for_address(cfg, addr) is not None:
                return cfg.name
        raise UsageError(f"{address!r} is not one of your addresses",
                         hint="add it as [[accounts.NAME.identities]] or to an account's aliases")

    def set_from(self, draft: Draft, address: str | None = None,
                 account: str | None = None) -> Draft:
        """Send the draft as `address` (one of the user's identities or alias addresses)
        and/or from `account`: From, account and signature follow; the old signature
        block is replaced."""
        from email.utils import parseaddr

        from mailcli.send import compose

        addr = (parseaddr(address)[1] or address) if address else None
        name = account or (self.account_of(addr) if addr else None) or draft.account \
            or self.default_account()
        if account and addr and name != account:
            self._identity_for(account, addr)  # raises: not an address of that account
        ident = self._identity_for(name, addr)
        draft.from_, draft.account = ident.from_, ident.account
        draft.signature_above = self.core.account_config(name).signature_above_quote
        if draft.resumed_id is None:  # a resumed draft's body already has what it carries
            compose.swap_signature(draft, ident.signature)
        return draft

    def sign(self, draft: Draft) -> Draft:
        """Put the draft's signature into a body given from outside the editor (a
        --body-file); a body that already carries it is left alone."""
        from mailcli.send import compose

        compose.add_signature(draft)
        return draft

    def _original(self, ref: str | int) -> tuple[Envelope, bytes, str, bool]:
        """The message answered or forwarded: its envelope, its bytes as a reader sees
        them (decrypted, in memory, when it was encrypted), its text, and whether it was
        encrypted (then the answer is encrypted by default)."""
        from mailcli.message.render import render_text

        env = self.reading.resolve(ref)
        seen = self.reading.readable(self.core.store.read_raw(env.id))
        encrypted = seen.status is not None and seen.status.encrypted
        return env, seen.display, render_text(seen.display).text, encrypted

    def reply_draft(self, ref: str | int, all: bool = False) -> Draft:
        """A reply to a cached message (reply-all with `all`), From its account; the
        replied message gets \\Answered once the reply is sent."""
        from mailcli.send import compose

        env, raw, text, encrypted = self._original(ref)
        draft = compose.reply(raw, text, "", self.own_addresses(env.account),
                              reply_all=all, is_own=self.is_own)
        draft.replied_id = env.id
        draft.from_encrypted = encrypted
        return self._start(draft, self._answering_identity(env.account, raw))

    def _answering_identity(self, account: str, raw: bytes) -> Identity:
        """The identity the original was written to (To, Cc, Delivered-To), else the
        account's own."""
        from mailcli.message.parse import parse_bytes
        from mailcli.send import identity

        cfg = self.core.account_config(account)
        orig = parse_bytes(raw)

        def values(name: str) -> list[str]:
            try:
                return [str(v) for v in orig.get_all(name, [])]
            except Exception:  # noqa: BLE001 - a header the parser cannot decode: not an address of ours
                return []

        ident = identity.pick(cfg, values("To"), values("Cc"), values("Delivered-To"))
        return ident if ident is not None else self._identity_for(account)

    def forward_draft(self, ref: str | int, inline: bool = True,
                      attachments: bool = True) -> Draft:
        """A forward of a cached message: quoted inline (its attachments carried over,
        listed in the draft as ``Attached:`` lines, unless `attachments` is False), or
        attached whole as message/rfc822."""
        from mailcli.send import compose

        env, raw, text, encrypted = self._original(ref)
        if not inline and encrypted:   # the original as it is (still encrypted)
            raw = self.core.store.read_raw(env.id)
        draft = compose.forward(raw, text, "", inline=inline, attachments=attachments)
        draft.from_encrypted = encrypted and inline
        return self._start(draft, self._answering_identity(env.account, raw))

    def save_draft(self, account: str | None, draft: Draft) -> int:
        """Keep an unfinished draft in the account's Drafts folder (\\Draft); returns its
        id. IMAP: the upload to the server's Drafts folder is queued for the next fetch."""
        from email.errors import HeaderParseError

        from mailcli.send import compose
        from mailcli.send.drafts import keep_draft

        name = account or draft.account or self.default_account()
        cfg = self.core.account_config(name)
        lines = b""
        try:
            msg = compose.build_draft(draft)
        except (IndexError, ValueError, TypeError, HeaderParseError):
            # a To/Cc the email package cannot parse yet ("carol@", typed in the TUI): kept
            # as typed, as plain header lines, so leaving the composer loses nothing
            lines = b"".join(_raw_header(n, ", ".join(v))
                             for n, v in (("To", draft.to), ("Cc", draft.cc)) if v)
            msg = compose.build_draft(replace(draft, to=[], cc=[]))
        raw = lines + msg.as_bytes()
        if self._draft_encrypted(name, draft):
            raw = self._encrypt_to_self(name, draft, raw)
        kept = keep_draft(self.core.store, cfg, raw, str(msg["Message-ID"]))
        self._discard_resumed(draft, keep=kept)
        return kept

    def _draft_encrypted(self, account: str, draft: Draft) -> bool:
        """A draft is kept encrypted (to the user's own key) when the message will be
        encrypted for sure: --encrypt, pgp_encrypt = "always", or an answer to encrypted
        mail (its quote is decrypted text, which must not sit in Drafts in clear)."""
        from mailcli.send import identity

        if draft.encrypt is not None:
            return draft.encrypt
        if draft.from_encrypted:
            return True
        cfg = self.core.account_config(account)
        ident = identity.for_address(cfg, parseaddr(draft.from_)[1]) or identity.default(cfg)
        return (ident.pgp_encrypt if ident else cfg.pgp_encrypt) == "always"

    def _encrypt_to_self(self, account: str, draft: Draft, raw: bytes) -> bytes:
        from mailcli.send import identity
        from mailcli.send import pgp as pgp_send

        cfg = self.core.account_config(account)
        ident = identity.for_address(cfg, parseaddr(draft.from_)[1]) or identity.default(cfg)
        gpg = self.core.gnupg()
        me = parseaddr(draft.from_)[1] or (cfg.email or "")
        key = pgp_send.own_key(gpg, me, ident.pgp_key if ident else cfg.pgp_key, cfg.email,
                               secret=True, encrypt=True)
        if key is None:
            raise UsageError(f"no PGP key of your own for {me}: a draft of an encrypted message "
                             "is kept only encrypted", hint="set pgp_key for this account or identity")
        return pgp_send.protect(raw, pgp_send.Protection(encrypt=True, recipients=(key,)), gpg)

    def drafts(self, account: str | None = None, limit: int = 0) -> list[Envelope]:
        """The saved drafts of one account (or all), newest first (`limit` 0: all)."""
        from mailcli.send.drafts import drafts_folder

        out: list[Envelope] = []
        for cfg in self.core.account_configs([account] if account else None):
            folder = drafts_folder(self.core.store, cfg)
            out += self.core.store.list_envelopes(cfg.name, folder, limit=limit or 1_000_000)
        out.sort(key=lambda e: (e.date is not None, e.date, e.id), reverse=True)
        return out[:limit] if limit else out

    def resume_draft(self, ref: str | int) -> Draft:
        """A saved draft (from `drafts`) as a Draft to edit and send again: every header,
        the body and the attachments. Once it is sent or saved anew, the old copy is
        removed from Drafts (and from the server's Drafts folder at the next fetch)."""
        from mailcli.send import compose
        from mailcli.send.drafts import drafts_folder

        env = self.reading.resolve(ref)
        cfg = self.core.account_config(env.account)
        if env.folder != drafts_folder(self.core.store, cfg):
            raise UsageError(f"message {env.id} is not a draft (it is in {env.folder!r})",
                             hint="`mailcli drafts` lists the saved drafts")
        seen = self.reading.readable(self.core.store.read_raw(env.id))
        if seen.status is not None and seen.status.encrypted:
            if not seen.status.decrypted:
                raise UsageError(f"draft {env.id} is encrypted and could not be decrypted: "
                                 f"{seen.status.error}")
        draft = compose.from_saved(seen.display)
        if seen.status is not None and seen.status.encrypted:
            draft.encrypt = True        # kept encrypted: it goes out encrypted too
        draft.account, draft.resumed_id = env.account, env.id
        if not draft.from_:
            draft.from_ = self._me(env.account)
        return draft

    def _discard_resumed(self, draft: Draft, keep: int | None = None) -> None:
        from mailcli.send.drafts import discard_draft

        old, draft.resumed_id = draft.resumed_id, keep
        if old is None or old == keep:
            return
        try:
            env = self.core.store.get(old)
            discard_draft(self.core.store, self.core.account_config(env.account), old)
        except MailcliError as exc:  # already gone (a fetch removed it): nothing to do
            logger.info("resumed draft %s not removed: %s", old, exc)

    # ------------------------------------------------------------------ sending
    def send(self, account: str | None, draft: Draft) -> SendResult:
        """Queue the draft and try to send it now.

        Returns a SendResult: ``sent`` (with the Sent copy status), ``queued`` (temporary
        failure, e.g. SMTP unreachable: it waits in the Outbox, exit code 75), ``failed``
        (kept in the Outbox, `error` says why). Raises UsageError/ConfigError before
        anything is queued (no recipients, unreadable attachment, no SMTP config).
        """
        from mailcli.send import compose
        from mailcli.send import outbox as outbox_mod

        name = account or draft.account or self.default_account()
        if not draft.from_:
            draft.from_ = self._me(name)
        cfg = self.flushing.smtp_config(name, parseaddr(draft.from_)[1])
        protection = self.protection(name, draft)   # a missing key: refused before the queue
        msg = compose.build(draft, armored=protection.sign)
        raw = msg.as_bytes()
        if protection.any:
            from mailcli.send import pgp

            raw = pgp.protect(raw, protection, self.core.gnupg())
        message_id = str(msg["Message-ID"])
        mail_from = parseaddr(draft.from_)[1] or (cfg.email or "")

        item = outbox_mod.Outbox(self.core.store).enqueue(name, raw, message_id, mail_from,
                                                          draft.recipients(), draft.bcc,
                                                          draft.replied_id)
        self._discard_resumed(draft)  # it is in the Outbox now: sent exactly once from there
        try:
            with self.flushing.send_lock(name, wait=SEND_LOCK_WAIT):
                return self.flushing.flush_items(cfg, [item], fresh=True)[0]
        except LockHeld as exc:
            res = outbox_mod.SendResult(name, message_id, "queued",
                                        recipients=list(item.recipients), outbox_id=item.message,
                                        subject=draft.subject, exit_code=75)
            res.error = f"{exc.message}; the message waits in the Outbox"
            res.hint = "it goes out with that run, or the next `mailcli send`/`mailcli fetch`"
            return res

    def pgp_plan(self, draft: Draft) -> str:
        """One line for a review step: "signed", "encrypted (to 3 keys)", ... ("" for no
        PGP), or "not possible: <why>" when the send would be refused."""
        name = draft.account or self.default_account()
        try:
            prot = self.protection(name, draft)
        except UsageError as exc:
            return f"not possible: {exc.message}"
        if not prot.any:
            return ""
        what = []
        if prot.sign:
            what.append("signed")
        if prot.encrypt:
            keys = len(prot.recipients) + len(prot.hidden)
            what.append(f"encrypted (to {keys} key{'s' if keys != 1 else ''}, yours included)")
        return " and ".join(what)

    def protection(self, account: str, draft: Draft) -> Protection:
        """Whether (and with which keys) the draft is signed and/or encrypted: its
        --sign/--encrypt choice, else the From identity's pgp_sign/pgp_encrypt; an
        answer to an encrypted message is encrypted. Raises UsageError for a missing key."""
        from mailcli.send import identity
        from mailcli.send import pgp as pgp_send

        cfg = self.core.account_config(account)
        ident = identity.for_address(cfg, parseaddr(draft.from_)[1]) or identity.default(cfg)
        sign_default = ident.pgp_sign if ident else cfg.pgp_sign
        encrypt_default = ident.pgp_encrypt if ident else cfg.pgp_encrypt
        if not (draft.sign or draft.encrypt or draft.from_encrypted or sign_default
                or encrypt_default != pgp_send.NEVER):
            return pgp_send.Protection()       # no PGP at all: gpg is not even run
        if draft.sign is False and draft.encrypt is False:
            return pgp_send.Protection()
        if not draft.recipients():
            raise UsageError("no recipients: give --to (or To: in the draft)")
        return pgp_send.decide(
            self.core.gnupg(), from_=draft.from_, to=draft.to, cc=draft.cc, bcc=draft.bcc,
            sign=draft.sign, encrypt=draft.encrypt, default_sign=sign_default,
            default_encrypt=encrypt_default, key=ident.pgp_key if ident else cfg.pgp_key,
            fallback_address=cfg.email, replying_to_encrypted=draft.from_encrypted)
