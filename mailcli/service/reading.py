"""Reading the local cache (no network): folders, list, show, search, attachments,
message references, index rebuild. (Owned by the CLI issue.)"""
from __future__ import annotations


class ReadingMixin:
    pass
