"""Cohort facts: what a citizen currently counts in, as the cohorts service tells metrics.

A fact is absolute (the citizen's whole set of cells), not a +1/-1 delta, and carries the
version it was evaluated at: the citizen's last event position and the platform day. So a
redelivered or replayed fact is recognisably old and applying facts is idempotent.

A citizen counts in a few hundred cells, so cells are packed integers (one int each, not a
five-field tuple). Packing puts the period just above the municipality, so a citizen's
sorted cells are a handful of runs of consecutive months (about 11 runs for 195 cells in
the simulation): on Kafka and in the metrics worker's memory a citizen's cells travel and
rest as those runs, not as hundreds of ints.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import TypeVar, cast

import orjson

from kommunepuls.domain.citizen import CitizenState
from kommunepuls.domain.evaluation import (
    DENOMINATOR,
    NUMERATOR,
    Cell,
    Part,
    encoded_contributions,
)

HEADER_THROUGH = "through_position"
# Set by cohorts on records sent while it is behind (more of this backlog's facts are
# coming soon): the metrics worker then spaces its flushes out (services/metrics/agents.py).
HEADER_MORE = "more"

# Stable codes: stored in PostgreSQL, so never renumber; a new indicator takes a new code.
INDICATOR_CODES: dict[str, int] = {
    "fsm_virksomhedsforloeb": 1,
    "fsm_virksomhedsforloeb_ever": 2,
    "fsm_ordinaere_timer": 3,
    "fsm_30_timer": 4,
    "fsm_afklaret": 5,
    "fsm_virksomhedsforloeb_curve": 6,
}
_INDICATORS = {code: name for name, code in INDICATOR_CODES.items()}
_CURVE_BASE = 3000  # period codes: months since 2000 for "YYYY-MM", 3000 + m for "mNN"
# Bit layout of a packed cell: indicator code, part, group, period, municipality.
MONTH_STEP = 1 << 10  # one period further, same indicator, part, group and municipality
PART_BIT = 1 << 25    # set for the numerator, clear for the denominator
# A few tens of thousands of distinct cells exist, and every citizen repeats them: packing
# through a cache costs a dict lookup instead of parsing the period each time. Bounded so
# that a long-running worker whose periods move on does not keep the old ones for ever.
_CACHE_LIMIT = 200_000

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


def _bounded_cache(compute: Callable[[_K], _V]) -> Callable[[_K], _V]:
    # Emptied when full rather than LRU: a hit stays one dict lookup (pack and unpack run
    # for every cell of every fact), and a full cache means the periods have moved on.
    cache: dict[_K, _V] = {}

    def cached(key: _K) -> _V:
        found = cache.get(key)
        if found is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            found = cache[key] = compute(key)
        return found

    return cached


def _period_code(period: str) -> int:
    if period.startswith("m"):
        return _CURVE_BASE + int(period[1:])
    return (int(period[:4]) - 2000) * 12 + int(period[5:7])


def _period_label(code: int) -> str:
    if code > _CURVE_BASE:
        return f"m{code - _CURVE_BASE:02d}"
    year, month = divmod(code - 1, 12)
    return f"{2000 + year:04d}-{month + 1:02d}"


def _pack(cell: Cell) -> int:
    part = 1 if cell.part == NUMERATOR else 0
    code = INDICATOR_CODES[cell.indicator]
    return ((((code * 2 + part) * 8 + (cell.group or 0)) * 4096 + _period_code(cell.period))
            * 1024 + int(cell.municipality))


pack: Callable[[Cell], int] = _bounded_cache(_pack)


def _unpack(packed: int) -> Cell:
    rest, municipality = divmod(packed, 1024)
    rest, period = divmod(rest, 4096)
    rest, group = divmod(rest, 8)
    code, part = divmod(rest, 2)
    return Cell(_INDICATORS[code], f"{municipality:03d}", _period_label(period), group or None,
                cast(Part, NUMERATOR if part else DENOMINATOR))


unpack: Callable[[int], Cell] = _bounded_cache(_unpack)

_MUNICIPALITY_LABELS = [f"{m:03d}" for m in range(1024)]
_period_labels = functools.cache(_period_label)  # at most 4096 codes


def key_columns(packed_cells: Iterable[int]) -> tuple[list[str], list[str], list[str], list[int]]:
    """Indicator, municipality, period and group (0 = all) of packed cells as four columns,
    without a Cell for each: a metrics flush writes hundreds of thousands of them (with the
    real date, more distinct cells than the unpack cache holds)."""
    indicators: list[str] = []
    municipalities: list[str] = []
    periods: list[str] = []
    groups: list[int] = []
    for packed in packed_cells:
        rest, municipality = divmod(packed, 1024)
        rest, period = divmod(rest, 4096)
        rest, group = divmod(rest, 8)
        indicators.append(_INDICATORS[rest >> 1])
        municipalities.append(_MUNICIPALITY_LABELS[municipality])
        periods.append(_period_labels(period))
        groups.append(group)
    return indicators, municipalities, periods, groups


def pack_all(cells: Iterable[Cell]) -> tuple[int, ...]:
    return tuple(sorted(map(pack, cells)))


def packed_contributions(state: CitizenState, today: date) -> tuple[int, ...]:
    """`pack_all(contributions(state, today))`, packing each distinct cell once per process
    (the engine's rows of cells are kept packed): a third less CPU per citizen."""
    return tuple(sorted(encoded_contributions(state, today, _pack)))


def to_runs(cells: Sequence[int]) -> list[int]:
    """Sorted packed cells as [gap, length, gap, length, ...]: each run is `length` cells one
    MONTH_STEP apart, starting `gap` after the previous run's last cell (after 0 at first)."""
    runs: list[int] = []
    if not cells:
        return runs
    previous = 0
    start = last = cells[0]
    for cell in cells[1:]:
        if cell != last + MONTH_STEP:
            runs += (start - previous, (last - start) // MONTH_STEP + 1)
            previous, start = last, cell
        last = cell
    runs += (start - previous, (last - start) // MONTH_STEP + 1)
    return runs


def _run_bounds(runs: Sequence[int]) -> Iterator[tuple[int, int, int]]:
    """(first cell, length, last cell) of each run of `to_runs`."""
    previous = 0
    for i in range(0, len(runs), 2):
        start = previous + runs[i]
        previous = start + (runs[i + 1] - 1) * MONTH_STEP
        yield start, runs[i + 1], previous


def from_runs(runs: Sequence[int]) -> tuple[int, ...]:
    return tuple(chain.from_iterable(range(start, last + 1, MONTH_STEP)
                                     for start, _, last in _run_bounds(runs)))


# The text of a run's cells, "c,c+step,...", by (first cell, length): runs recur across
# citizens (a municipality's group over the same months), so a flush writes each citizen's
# cells as a few joined strings instead of formatting ~270 ints (41 -> ~4 µs a citizen).
# Kept small (a run's text is ~300 bytes): emptied when full, like the caches above.
_RUN_TEXT: dict[tuple[int, int], str] = {}
_RUN_TEXT_LIMIT = 20_000


def runs_literal(runs: Sequence[int]) -> str:
    """`storage.arrays.literal(from_runs(runs))`, built from cached text of each run."""
    texts: list[str] = []
    cache = _RUN_TEXT
    for start, length, last in _run_bounds(runs):
        text = cache.get((start, length))
        if text is None:
            if len(cache) >= _RUN_TEXT_LIMIT:
                cache.clear()
            text = cache[start, length] = ",".join(map(str, range(start, last + 1, MONTH_STEP)))
        texts.append(text)
    return "{" + ",".join(texts) + "}"


CitizenKey = int | str


def citizen_key(citizen_id: str) -> CitizenKey:
    # An int of 256 bits takes 64 bytes of the allocator, the same as bytes 80, the str 128.
    if len(citizen_id) == 64:
        try:
            number = int(citizen_id, 16)
        except ValueError:
            return citizen_id
        if f"{number:064x}" == citizen_id:  # upper case or "0x..." would not come back
            return number
    return citizen_id


def citizen_id_of(key: CitizenKey) -> str:
    return f"{key:064x}" if isinstance(key, int) else key


def version_key(position: int, day: int) -> int:
    """A version (position, day) as one int with the same order: day is an ordinal below
    2**20 (year 2870), so the position sits above it."""
    return position << 20 | day


@dataclass(frozen=True, slots=True)
class Fact:
    citizen_id: str
    position: int       # the citizen's last event included
    day: int            # date.toordinal() of the platform day evaluated on
    cells: tuple[int, ...]  # packed, sorted

    @property
    def version(self) -> tuple[int, int]:
        return (self.position, self.day)


# Records are [FORMAT, [[citizen_id, position, day, runs], ...]]; format 1 was a bare list
# of [citizen_id, position, day, cells] and is still read (records of an older cohorts).
FORMAT = 2


def encode(facts: Sequence[Fact]) -> bytes:
    return orjson.dumps([FORMAT, [(f.citizen_id, f.position, f.day, to_runs(f.cells))
                                  for f in facts]])


def decode(value: bytes) -> list[Fact]:
    body = orjson.loads(value)
    if body and body[0] == FORMAT and len(body) == 2:
        return [Fact(citizen_id, position, day, from_runs(runs))
                for citizen_id, position, day, runs in body[1]]
    return [Fact(citizen_id, position, day, tuple(cells))
            for citizen_id, position, day, cells in body]
