"""Reconnect delays of the watcher: exponential from a base (1 s) up to a cap (5 min),
with jitter so that many clients cut off by one outage do not come back in step.

Pure: the random source is a parameter; tests pin it.
"""
from __future__ import annotations

import random
from collections.abc import Callable

BASE = 1.0
CAP = 300.0


def delay(attempt: int, base: float = BASE, cap: float = CAP,
          rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnect attempt number `attempt` (0 = the first retry):
    d = min(cap, base * 2**attempt), then a random point in [d/2, d] ("equal jitter":
    never less than half the step, never over the cap)."""
    step = min(cap, base * float(2 ** min(attempt, 32)))
    return step / 2 + float(rand()) * step / 2


class Backoff:
    """The delays of one account's reconnect attempts; `reset()` after a success."""

    def __init__(self, base: float = BASE, cap: float = CAP,
                 rand: Callable[[], float] = random.random) -> None:
        self.base, self.cap, self.rand = base, cap, rand
        self.attempt = 0

    def next(self) -> float:
        d = delay(self.attempt, self.base, self.cap, self.rand)
        self.attempt += 1
        return d

    def reset(self) -> None:
        self.attempt = 0
