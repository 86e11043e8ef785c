"""Random draws used in the inner loops, kept cheap: every citizen draws thousands."""

from __future__ import annotations

import bisect
import itertools
import random
from typing import Any


def between(rng: random.Random, lo: int, hi: int) -> int:
    """An integer in [lo, hi]. About twice as fast as randint, which matters per event."""
    return lo + int(rng.random() * (hi - lo + 1))


def exp_days(rng: random.Random, per_year: float) -> int:
    """Days until the next occurrence of something happening `per_year` times a year."""
    return int(rng.expovariate(per_year / 365.25)) if per_year > 0 else 10**6


class Table:
    """A weighted choice, prepared once: cumulative weights for bisect."""

    __slots__ = ("cums", "total", "values")

    def __init__(self, pairs: tuple[tuple[Any, float], ...]) -> None:
        self.values = tuple(v for v, _ in pairs)
        self.cums = tuple(itertools.accumulate(w for _, w in pairs))
        self.total = self.cums[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect(self.cums, rng.random() * self.total)]
