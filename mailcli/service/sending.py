"""Sending: compose/reply/forward drafts, SMTP, Sent copies, drafts, the outbox.
(Owned by the sending issue.)"""
from __future__ import annotations


class SendingMixin:
    pass
