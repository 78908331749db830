"""Local changes queued for the server: flag, move, delete (with --now).
(Owned by the CLI issue.)"""
from __future__ import annotations


class ChangingMixin:
    pass
