"""From read-model rows to the figures a caller may see: pooling, strata, suppression.

Aggregates (the country, a population or volume band) are sums of the municipalities' raw
counts, suppressed only afterwards, so a national figure is never short of the small
municipalities' citizens (domain.md §4: pool counts, never average shares). Which band a
municipality is in is the domain's rule (`population_band`, `volume_band`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from kommunepuls.domain import indicators as engine
from kommunepuls.domain.strata import VOLUME_INDICATOR
from kommunepuls.reference import municipalities
from services.gateway import queries
from services.gateway.models import CurvePoint, IndicatorValueOut
from services.gateway.queries import CellRow, Pool

ALL = "all"
POPULATION_STRATA = {f"population:{band}": band for band in ("0-25k", "25-50k", "50k+")}
VOLUME_STRATA = {f"volume:{band}": band for band in ("<100", "100-500", ">500")}
STRATA = tuple(POPULATION_STRATA) + tuple(VOLUME_STRATA)


@dataclass(frozen=True, slots=True)
class Audience:
    """What the caller may see: raw counts (national) or suppressed ones (everyone else)."""

    raw: bool
    threshold: int

    def value(self, numerator: int, denominator: int,
              target: Decimal | None) -> engine.IndicatorValue:
        return _shown(numerator, denominator, target, self.raw, self.threshold)


@lru_cache(maxsize=65_536)
def _shown(numerator: int, denominator: int, target: Decimal | None, raw: bool,
           threshold: int) -> engine.IndicatorValue:
    # The same counts come back request after request (a ranking is 98 of them): the
    # exact Decimal percent is worth computing once. IndicatorValue is frozen.
    value = engine.indicator_value(numerator, denominator, target)
    return value if raw else engine.suppress(value, threshold)


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figure: one municipality, or `all` (the country, or one stratum of it)."""

    municipality: str  # a kommunekode or ALL
    stratum: str | None = None


@dataclass(frozen=True, slots=True)
class Pooled:
    numerator: int
    denominator: int
    events_through: int
    computed_at: datetime | None


_EMPTY = Pooled(0, 0, 0, None)


def _sum(rows: Iterable[CellRow]) -> Pooled:
    n = d = through = 0
    at: datetime | None = None
    for row in rows:
        n += row.numerator
        d += row.denominator
        through = max(through, row.events_through)
        if row.computed_at is not None and (at is None or row.computed_at > at):
            at = row.computed_at
    return Pooled(n, d, through, at)


async def _volume_bands(pool: Pool, periods: Sequence[str],
                        as_of: datetime | None) -> dict[tuple[str, str], str]:
    """Each municipality's group-1 volume band per period (the domain's rule)."""
    calendar = [p for p in periods if not p.startswith("m")]
    rows = await queries.cells(pool, VOLUME_INDICATOR, 1, calendar, as_of=as_of)
    counts = {engine.CountKey(VOLUME_INDICATOR, r.municipality, r.period, 1):
              engine.Count(r.numerator, r.denominator) for r in rows}
    bands: dict[tuple[str, str], str] = {
        key: engine.volume_band(v) for key, v in engine.group_1_volumes(counts).items()}
    if len(calendar) < len(periods):
        # Cohort-curve months have no calendar period: like the domain's by_volume_band,
        # use each municipality's volume in the latest period.
        bounds = await queries.period_bounds(pool, VOLUME_INDICATOR, 1)
        latest = [] if bounds is None else await queries.cells(
            pool, VOLUME_INDICATOR, 1, [bounds[1]], as_of=as_of)
        for row in latest:
            for period in periods:
                if period.startswith("m"):
                    bands[(row.municipality, period)] = engine.volume_band(row.denominator)
    return bands


async def pooled(pool: Pool, definition: engine.IndicatorDefinition, group: int,
                 periods: Sequence[str], scope: Scope,
                 as_of: datetime | None) -> dict[str, Pooled]:
    """Pooled counts per period for the scope (periods without citizens are 0 / 0)."""
    single = None if scope.municipality == ALL else scope.municipality
    rows = await queries.cells(pool, definition.id, group, periods, municipality=single,
                               as_of=as_of)
    if scope.stratum in POPULATION_STRATA:
        band = POPULATION_STRATA[scope.stratum]
        known = municipalities()
        rows = [r for r in rows
                if r.municipality in known and known[r.municipality].population_band == band]
    elif scope.stratum in VOLUME_STRATA:
        band = VOLUME_STRATA[scope.stratum]
        bands = await _volume_bands(pool, periods, as_of)
        # A municipality with no one ever visited to group 1 has volume 0: under 100.
        rows = [r for r in rows if bands.get((r.municipality, r.period), "<100") == band]
    by_period: dict[str, list[CellRow]] = {}
    for row in rows:
        by_period.setdefault(row.period, []).append(row)
    return {p: _sum(by_period[p]) if p in by_period else _EMPTY for p in periods}


def value_out(definition: engine.IndicatorDefinition, scope: Scope, period: str, group: int,
              counts: Pooled, audience: Audience, *, events_through: int,
              as_of: datetime | None) -> IndicatorValueOut:
    shown = audience.value(counts.numerator, counts.denominator, definition.target)
    return IndicatorValueOut(
        indicator=definition.id, municipality=scope.municipality, period=period,
        stratum=scope.stratum, group=group, numerator=shown.numerator,
        denominator=shown.denominator, value=shown.value, value_pct=shown.value_pct,
        target=shown.target, met=shown.met, suppressed=shown.suppressed,
        # As known at `as_of`, the revisions' own positions are all we know.
        events_through=counts.events_through if as_of is not None else events_through,
        computed_at=counts.computed_at, as_of=as_of,
        rule_set_version=definition.rule_set_version,
    )


def point_out(m: int, counts: Pooled, audience: Audience) -> CurvePoint:
    shown = audience.value(counts.numerator, counts.denominator, None)
    return CurvePoint(m=m, period=engine.curve_period(m), numerator=shown.numerator,
                      denominator=shown.denominator, value=shown.value,
                      value_pct=shown.value_pct, suppressed=shown.suppressed)


def latest_at(values: Iterable[Pooled]) -> datetime | None:
    stamps = [v.computed_at for v in values if v.computed_at is not None]
    return max(stamps, default=None)
