"""Sets of calendar days (or months) as merged, sorted, inclusive intervals of ordinals.

Every indicator question about a citizen is "is there a day in [a, b] on which X held?"
or "what is the first day on or after v on which X held?". Merging X's spells once per
citizen turns both into one binary search, whatever the number of periods asked about.
The same structure holds sets of month indexes: "the months in which X held", "the
months a citizen counts as a member", so that indicators work on runs of months, not on
one month at a time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

# Runs: sorted, disjoint, non-adjacent, inclusive (first, last) pairs, the plain-list form
# of an IntervalSet that the engine's hot path passes around.
Runs = list[tuple[int, int]]


class IntervalSet:
    """Inclusive day-ordinal intervals, merged so that they are disjoint and not adjacent."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, intervals: Iterable[tuple[int, int]] = ()) -> None:
        runs = merge_runs(sorted(intervals))
        self._starts = [first for first, _ in runs]
        self._ends = [last for _, last in runs]

    @classmethod
    def from_runs(cls, runs: Runs) -> IntervalSet:
        """The set of `runs` (already merged: sorted, disjoint, non-adjacent)."""
        found = cls.__new__(cls)
        found._starts = [first for first, _ in runs]
        found._ends = [last for _, last in runs]
        return found

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __repr__(self) -> str:
        return f"IntervalSet({list(zip(self._starts, self._ends, strict=True))})"

    def spans(self) -> Iterator[tuple[int, int]]:
        return zip(self._starts, self._ends, strict=True)

    def overlaps(self, first: int, last: int) -> bool:
        """Whether any day in [first, last] belongs to the set."""
        # Merged intervals have sorted ends too, so the first interval ending on or after
        # `first` is the only candidate.
        i = bisect_left(self._ends, first)
        return i < len(self._ends) and self._starts[i] <= last

    def contains(self, day: int) -> bool:
        return self.overlaps(day, day)

    def first_on_or_after(self, day: int) -> int | None:
        """The first day of the set that is on or after `day`, if any."""
        i = bisect_left(self._ends, day)
        if i == len(self._ends):
            return None
        return max(self._starts[i], day)


_BEFORE_ALL = -(2**62)


def merge_runs(spans: Iterable[tuple[int, int]]) -> Runs:
    """Spans sorted by start, merged into runs; empty spans (start > end) are dropped."""
    runs: Runs = []
    first = last = _BEFORE_ALL
    for start, end in spans:
        if start > end:
            continue  # e.g. a spell starting after today, clipped at today
        # Adjacent spells (one ends the day before the next starts) are one stretch of
        # days for every question asked here, so merging them keeps the lists short.
        if start <= last + 1:
            if end > last:
                last = end
                runs[-1] = (first, last)
        else:
            first, last = start, end
            runs.append((first, last))
    return runs
