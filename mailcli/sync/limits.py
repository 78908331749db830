"""The deletion guardrail's numbers (sync/plan.py's planner and the engine's folder-removal
check use them). Its own small module so that a sync with nothing to plan does not load
the planner (start-up time, issue 15)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Deletion guardrail: at most max(fraction * size, floor) and never more than ceiling."""

    fraction: float = 0.5
    floor: int = 10
    ceiling: int = 500

    def allowed(self, size: int) -> int:
        """How many deletions on one side a folder of `size` messages may take unforced."""
        return min(self.ceiling, max(self.floor, int(size * self.fraction)))


LIMITS = Limits()
