"""Raw bytes -> ParsedMessage: the envelope fields and text that the index and the
renderer need. Never raises on bad mail: every message yields a ParsedMessage.

(Contract stub: hardened by the message issue. Keep the names and fields.)
"""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None
    date: datetime | None
    from_: str
    to: str
    cc: str
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    has_attachments: bool
    body_text: str = ""            # plain text for full-text search (capped)
    attachments: tuple = field(default_factory=tuple)


def parse_bytes(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def parse_message(raw: bytes) -> ParsedMessage:
    msg = parse_bytes(raw)

    def h(name: str) -> str:
        try:
            return str(msg.get(name, "") or "")
        except Exception:
            return ""

    try:
        date = parsedate_to_datetime(h("Date")) if h("Date") else None
    except Exception:
        date = None
    return ParsedMessage(
        message_id=h("Message-ID").strip() or None, date=date, from_=h("From"), to=h("To"),
        cc=h("Cc"), subject=h("Subject"), in_reply_to=h("In-Reply-To").strip() or None,
        references=tuple(h("References").split()), has_attachments=False,
    )
