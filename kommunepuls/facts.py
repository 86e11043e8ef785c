"""Cohort facts: what a citizen currently counts in, as the cohorts service tells metrics.

A fact is absolute (the citizen's whole set of cells), not a +1/-1 delta, and carries the
version it was evaluated at: the citizen's last event position and the platform day. So a
redelivered or replayed fact is recognisably old and applying facts is idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from kommunepuls.domain.evaluation import Cell

HEADER_THROUGH = "through_position"


@dataclass(frozen=True, slots=True)
class Fact:
    citizen_id: str
    position: int       # the citizen's last event included
    day: int            # date.toordinal() of the platform day evaluated on
    cells: frozenset[Cell]

    @property
    def version(self) -> tuple[int, int]:
        return (self.position, self.day)


def encode(facts: Sequence[Fact]) -> bytes:
    return orjson.dumps([
        (f.citizen_id, f.position, f.day, [tuple(c) for c in f.cells]) for f in facts])


def decode(value: bytes) -> list[Fact]:
    return [Fact(citizen_id, position, day, frozenset(Cell(*c) for c in cells))
            for citizen_id, position, day, cells in orjson.loads(value)]
