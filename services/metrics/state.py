"""A metrics partition's state: each citizen's current cells and the counts they add up to.

Pure (no I/O): facts in, counts out. Cells are interned to small ints, so a citizen costs
a tuple of ints, not a set of tuples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell, Count, CountKey
from kommunepuls.facts import Fact


class CellTable:
    """Cell <-> small int, shared by the partitions of one process."""

    def __init__(self) -> None:
        self._ids: dict[Cell, int] = {}
        self.cells: list[Cell] = []

    def id(self, cell: Cell) -> int:
        found = self._ids.get(cell)
        if found is None:
            found = self._ids[cell] = len(self.cells)
            self.cells.append(cell)
        return found

    def ids(self, cells: frozenset[Cell]) -> tuple[int, ...]:
        return tuple(sorted(self.id(c) for c in cells))


@dataclass(slots=True)
class CitizenCells:
    position: int
    day: int
    cells: tuple[int, ...]


@dataclass
class PartitionState:
    partition: int
    table: CellTable
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
        after = self.table.ids(fact.cells)
        before = known.cells if known is not None else ()
        if before != after:
            old, new = set(before), set(after)
            for cell in old - new:
                self.totals[cell] -= 1
                self.dirty_cells.add(cell)
            for cell in new - old:
                self.totals[cell] += 1
                self.dirty_cells.add(cell)
        self.citizens[fact.citizen_id] = CitizenCells(fact.position, fact.day, after)
        self.dirty_citizens.add(fact.citizen_id)
        return True

    def dirty_counts(self) -> dict[CountKey, Count]:
        """Current counts of every key a dirty cell belongs to (zero counts included)."""
        keys = {_key(self.table.cells[c]) for c in self.dirty_cells}
        return {key: self.count(key) for key in keys}

    def count(self, key: CountKey) -> Count:
        numerator = self.table.id(Cell(*key, NUMERATOR))
        denominator = self.table.id(Cell(*key, DENOMINATOR))
        return Count(self.totals.get(numerator, 0), self.totals.get(denominator, 0))

    def all_counts(self) -> dict[CountKey, Count]:
        keys = {_key(self.table.cells[c]) for c, n in self.totals.items() if n}
        return {key: self.count(key) for key in keys}

    def clean(self) -> None:
        self.dirty_cells.clear()
        self.dirty_citizens.clear()


def _key(cell: Cell) -> CountKey:
    return CountKey(cell.indicator, cell.municipality, cell.period, cell.group)
