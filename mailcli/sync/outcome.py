"""What one engine run did for one account: counts, failures, guardrail stops, notes, plans.

The IMAP engine (sync/engine.py) and the POP3 engine (sync/pop3.py) fill a SyncOutcome as
they go (so a run that dies half-way still reports what it finished); sync/runner.py turns
it into the account's model.AccountReport and exit code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mailcli.sync.events import FolderCounts


@dataclass
class SyncOutcome:
    """Running totals of one account's sync.

    Attributes:
        errors: folder- or message-level failures (the run is partial: exit 1).
        blocked: guardrail stops; each asks for --force (also partial).
        notes: things the user should know that are not failures (UIDVALIDITY recovered,
            folder appeared/disappeared, conflicts resolved).
        plans: --dry-run: the printable plan lines.
    """

    account: str
    protocol: str
    new: int = 0
    updated: int = 0
    deleted: int = 0
    uploaded: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)

    def add(self, counts: FolderCounts) -> None:
        self.new += counts.new
        self.updated += counts.updated
        self.deleted += counts.deleted
        self.uploaded += counts.uploaded
        self.failed += counts.failed

    @property
    def ok(self) -> bool:
        return not (self.errors or self.blocked)


@dataclass
class Tally:
    """Mutable per-folder counters, frozen into events.FolderCounts when the folder ends."""

    new: int = 0
    updated: int = 0
    deleted: int = 0
    uploaded: int = 0
    failed: int = 0

    def frozen(self) -> FolderCounts:
        return FolderCounts(self.new, self.updated, self.deleted, self.uploaded, self.failed)
