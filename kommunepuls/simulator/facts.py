"""Facts: what happened to a citizen, in occurred_at order, before it becomes an envelope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, NamedTuple

DAY = timedelta(days=1)
FAR = date.max  # "not in sight": a date no simulation reaches
# Same-day order: a membership starts before anything happens in it and ends after.
RANK_START, RANK_OWNER, RANK_EVENT, RANK_CLOSE, RANK_TERMINAL = 0, 1, 5, 7, 9


class Fact(NamedTuple):
    occurred: date
    rank: int
    type: str
    data: dict[str, Any]
    municipality: str
    source: str
    case_ref: str


# Makes a fact in the citizen's current municipality: (occurred, rank, type, data) -> Fact.
Stamp = Callable[[date, int, str, dict[str, Any]], Fact]


def fact_order(fact: Fact) -> tuple[date, int]:
    return fact.occurred, fact.rank
