"""A metrics partition's state: each citizen's current cells and the counts they add up to.

Pure (no I/O): facts in, counts out. A million citizens must fit in a few hundred MB, so
a citizen is held as one bytes object: its version and its cells as runs of consecutive
months (kommunepuls/facts.py), varint-encoded, ~60-120 bytes instead of a tuple of a few
hundred ints (~9 kB). A pseudonym (64 hex digits) is keyed by its value as an int
(facts.citizen_key).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass, field

from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell, Count, CountKey
from kommunepuls.facts import (
    CitizenKey,
    Fact,
    citizen_key,
    from_runs,
    pack,
    to_runs,
)


def _varints(numbers: list[int]) -> bytes:
    out = bytearray()
    for n in numbers:
        n = n << 1 if n >= 0 else (~n << 1) | 1  # zigzag: small negatives stay small
        while n > 0x7F:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
    return bytes(out)


def _numbers(blob: bytes) -> list[int]:
    numbers: list[int] = []
    n = shift = 0
    for byte in blob:
        n |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        numbers.append(n >> 1 if not n & 1 else ~(n >> 1))
        n = shift = 0
    return numbers


def _version_end(blob: bytes) -> int:
    """Offset where the runs start: after the two varints of position and day."""
    seen = 0
    for i, byte in enumerate(blob):
        if not byte & 0x80:
            seen += 1
            if seen == 2:
                return i + 1
    return len(blob)


def encode_citizen(position: int, day: int, cells: tuple[int, ...]) -> bytes:
    return _varints([position, day, *to_runs(cells)])


def decode_citizen(blob: bytes) -> tuple[int, int, tuple[int, ...]]:
    position, day, *runs = _numbers(blob)
    return position, day, from_runs(runs)


@dataclass
class PartitionState:
    partition: int
    # citizen_key(citizen_id) -> encode_citizen(...); see citizen() for the decoded view.
    citizens: MutableMapping[CitizenKey, bytes] = field(default_factory=dict)
    # packed cell -> the partition's count as last flushed; the current count adds
    # dirty_cells. Counting every fact into both cost a catch-up ~12 µs a fact, and only
    # the flush reads the counts, as changes.
    flushed: Counter[int] = field(default_factory=Counter)
    through: int = 0
    # packed cell -> its change since the last flush: the flush adds these to the pooled
    # count rows (services/metrics/store.py); 0 when a cell came back to its flushed count.
    dirty_cells: Counter[int] = field(default_factory=Counter)
    dirty_citizens: set[str] = field(default_factory=set)

    def apply(self, fact: Fact) -> bool:
        """Take a fact unless an equal or newer one was taken already (redelivery)."""
        key = citizen_key(fact.citizen_id)
        known = self.citizens.get(key)
        blob = encode_citizen(fact.position, fact.day, fact.cells)
        if known is None:
            self._count(fact.cells, 1)
        else:
            position, day, *runs = _numbers(known)
            if (position, day) >= fact.version:
                return False
            # A re-evaluation mostly finds the same cells (a new event that changes no
            # indicator, a new day): equal runs mean nothing to count.
            if known[_version_end(known):] != blob[_version_end(blob):]:
                old, new = set(from_runs(runs)), set(fact.cells)
                self._count(old - new, -1)
                self._count(new - old, 1)
        self.citizens[key] = blob
        self.dirty_citizens.add(fact.citizen_id)
        return True

    def _count(self, cells: set[int] | tuple[int, ...], step: int) -> None:
        # Counter.update counts in C (a catch-up adds ~150 cells a citizen); subtract
        # loops in Python, but a re-evaluation mostly changes few cells.
        if step == 1:
            self.dirty_cells.update(cells)
        else:
            self.dirty_cells.subtract(cells)

    def load(self, citizen_id: str, position: int, day: int, cells: tuple[int, ...]) -> None:
        self.citizens[citizen_key(citizen_id)] = encode_citizen(position, day, cells)
        self.flushed.update(cells)

    def citizen(self, citizen_id: str) -> tuple[int, int, tuple[int, ...]]:
        """(position, day, packed cells) of a citizen held in the state."""
        return decode_citizen(self.citizens[citizen_key(citizen_id)])

    def citizen_runs(self, citizen_id: str) -> tuple[int, int, list[int]]:
        """(position, day, cells as runs: facts.to_runs) of a citizen held in the state."""
        position, day, *runs = _numbers(self.citizens[citizen_key(citizen_id)])
        return position, day, runs

    def total(self, cell: int) -> int:
        """The partition's current count of a packed cell (flushed or not)."""
        return self.flushed.get(cell, 0) + self.dirty_cells.get(cell, 0)

    def count(self, key: CountKey) -> Count:
        return Count(self.total(pack(Cell(*key, NUMERATOR))),
                     self.total(pack(Cell(*key, DENOMINATOR))))

    def clean(self) -> None:
        """The dirty changes are flushed: they are now part of the flushed counts."""
        flushed = self.flushed
        for cell, change in self.dirty_cells.items():
            if change:
                flushed[cell] += change
                if not flushed[cell]:
                    del flushed[cell]
        self.dirty_cells.clear()
        self.dirty_citizens.clear()


def _key(cell: Cell) -> CountKey:
    return CountKey(cell.indicator, cell.municipality, cell.period, cell.group)
