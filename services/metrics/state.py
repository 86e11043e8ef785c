"""A metrics partition's state: each citizen's current cells and the counts they add up to.

Pure (no I/O): facts in, counts out. Cells are packed ints (kommunepuls/facts.py), so a
citizen costs a tuple of ints and a change is a difference of two sorted tuples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell, Count, CountKey
from kommunepuls.facts import Fact, pack, unpack


@dataclass(slots=True)
class CitizenCells:
    position: int
    day: int
    cells: tuple[int, ...]


@dataclass
class PartitionState:
    partition: int
    citizens: dict[str, CitizenCells] = field(default_factory=dict)
    totals: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    through: int = 0
    dirty_cells: set[int] = field(default_factory=set)
    dirty_citizens: set[str] = field(default_factory=set)

    def apply(self, fact: Fact) -> bool:
        """Take a fact unless an equal or newer one was taken already (redelivery)."""
        known = self.citizens.get(fact.citizen_id)
        if known is not None and (known.position, known.day) >= fact.version:
            return False
        before = known.cells if known is not None else ()
        if before != fact.cells:
            old, new = set(before), set(fact.cells)
            for cell in old - new:
                self.totals[cell] -= 1
                self.dirty_cells.add(cell)
            for cell in new - old:
                self.totals[cell] += 1
                self.dirty_cells.add(cell)
        self.citizens[fact.citizen_id] = CitizenCells(fact.position, fact.day, fact.cells)
        self.dirty_citizens.add(fact.citizen_id)
        return True

    def load(self, citizen_id: str, position: int, day: int, cells: tuple[int, ...]) -> None:
        self.citizens[citizen_id] = CitizenCells(position, day, cells)
        for cell in cells:
            self.totals[cell] += 1

    def dirty_counts(self) -> dict[CountKey, Count]:
        """Current counts of every key a dirty cell belongs to (zero counts included)."""
        keys = {_key(unpack(c)) for c in self.dirty_cells}
        return {key: self.count(key) for key in keys}

    def count(self, key: CountKey) -> Count:
        return Count(self.totals.get(pack(Cell(*key, NUMERATOR)), 0),
                     self.totals.get(pack(Cell(*key, DENOMINATOR)), 0))

    def all_counts(self) -> dict[CountKey, Count]:
        keys = {_key(unpack(c)) for c, n in self.totals.items() if n}
        return {key: self.count(key) for key in keys}

    def clean(self) -> None:
        self.dirty_cells.clear()
        self.dirty_citizens.clear()


def _key(cell: Cell) -> CountKey:
    return CountKey(cell.indicator, cell.municipality, cell.period, cell.group)
