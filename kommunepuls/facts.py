"""Cohort facts: what a citizen currently counts in, as the cohorts service tells metrics.

A fact is absolute (the citizen's whole set of cells), not a +1/-1 delta, and carries the
version it was evaluated at: the citizen's last event position and the platform day. So a
redelivered or replayed fact is recognisably old and applying facts is idempotent.

A citizen counts in a few hundred cells, so cells travel and rest as packed integers
(one int each, not a five-field tuple): the facts stay small on Kafka and in PostgreSQL,
and the metrics side adds and subtracts plain ints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import orjson

from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell, Part

HEADER_THROUGH = "through_position"

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


def _period_code(period: str) -> int:
    if period.startswith("m"):
        return _CURVE_BASE + int(period[1:])
    return (int(period[:4]) - 2000) * 12 + int(period[5:7])


def _period_label(code: int) -> str:
    if code > _CURVE_BASE:
        return f"m{code - _CURVE_BASE:02d}"
    year, month = divmod(code - 1, 12)
    return f"{2000 + year:04d}-{month + 1:02d}"


def pack(cell: Cell) -> int:
    part = 1 if cell.part == NUMERATOR else 0
    code = INDICATOR_CODES[cell.indicator]
    return ((((code * 2 + part) * 8 + (cell.group or 0)) * 4096 + _period_code(cell.period))
            * 1024 + int(cell.municipality))


def unpack(packed: int) -> Cell:
    rest, municipality = divmod(packed, 1024)
    rest, period = divmod(rest, 4096)
    rest, group = divmod(rest, 8)
    code, part = divmod(rest, 2)
    return Cell(_INDICATORS[code], f"{municipality:03d}", _period_label(period), group or None,
                cast(Part, NUMERATOR if part else DENOMINATOR))


def pack_all(cells: Iterable[Cell]) -> tuple[int, ...]:
    return tuple(sorted(pack(c) for c in cells))


@dataclass(frozen=True, slots=True)
class Fact:
    citizen_id: str
    position: int       # the citizen's last event included
    day: int            # date.toordinal() of the platform day evaluated on
    cells: tuple[int, ...]  # packed, sorted

    @property
    def version(self) -> tuple[int, int]:
        return (self.position, self.day)


def encode(facts: Sequence[Fact]) -> bytes:
    return orjson.dumps([(f.citizen_id, f.position, f.day, f.cells) for f in facts])


def decode(value: bytes) -> list[Fact]:
    return [Fact(citizen_id, position, day, tuple(cells))
            for citizen_id, position, day, cells in orjson.loads(value)]
