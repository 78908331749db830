"""Talking to servers: fetch (sync), quota, account test. (Owned by the sync issue.)"""
from __future__ import annotations


class SyncingMixin:
    pass
