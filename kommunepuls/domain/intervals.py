"""Sets of calendar days as merged, sorted, inclusive intervals of day ordinals.

Every indicator question about a citizen is "is there a day in [a, b] on which X held?"
or "what is the first day on or after v on which X held?". Merging X's spells once per
citizen turns both into one binary search, whatever the number of periods asked about.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator


class IntervalSet:
    """Inclusive day-ordinal intervals, merged so that they are disjoint and not adjacent."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, intervals: Iterable[tuple[int, int]] = ()) -> None:
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(i for i in intervals if i[0] <= i[1]):
            # Adjacent spells (one ends the day before the next starts) are one stretch of
            # days for every question asked here, so merging them keeps the lists short.
            if ends and start <= ends[-1] + 1:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        self._starts = starts
        self._ends = ends

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
