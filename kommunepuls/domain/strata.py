"""Cuts across municipalities: national totals, strata, and the spread of municipal values.

Everything here starts from municipal counts and pools them: a national or stratum
share is sum(numerators) / sum(denominators), never an average of municipal shares
(domain.md §4, §7). The pooled counts keep the `Counts` shape, with the municipality slot
holding NATIONAL or a stratum label, so values, suppression and the API treat them alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from math import floor
from typing import Literal

from kommunepuls.domain.evaluation import Count, CountKey, Counts
from kommunepuls.reference import Municipality, municipalities

NATIONAL = "DK"
UNKNOWN_STRATUM = "unknown"

VolumeBand = Literal["<100", "100-500", ">500"]
VOLUME_BANDS: tuple[VolumeBand, ...] = ("<100", "100-500", ">500")
# "Antal borgere i gruppe 1" (seeds/004 L2370, L1339) is read as the number of citizens
# ever visited to group 1 in the municipality: the denominator of this indicator, in the
# same period.
VOLUME_INDICATOR = "fsm_virksomhedsforloeb_ever"


def pool(counts: Mapping[CountKey, Count], stratum_of: Callable[[CountKey], str | None]) -> Counts:
    """Sum counts whose keys map to the same stratum (None drops the key)."""
    pooled: dict[CountKey, list[int]] = {}
    for key, count in counts.items():
        stratum = stratum_of(key)
        if stratum is None:
            continue
        total = pooled.setdefault(key._replace(municipality=stratum), [0, 0])
        total[0] += count.numerator
        total[1] += count.denominator
    return {key: Count(n, d) for key, (n, d) in pooled.items()}


def national(counts: Mapping[CountKey, Count]) -> Counts:
    """The whole country: municipal counts pooled under NATIONAL."""
    return pool(counts, lambda key: NATIONAL)


def by_population_band(
    counts: Mapping[CountKey, Count],
    reference: Mapping[str, Municipality] | None = None,
) -> Counts:
    """Counts pooled by population band (0-25k / 25-50k / 50k+, seeds/004 L2364)."""
    known = municipalities() if reference is None else reference

    def band(key: CountKey) -> str:
        municipality = known.get(key.municipality)
        return UNKNOWN_STRATUM if municipality is None else municipality.population_band

    return pool(counts, band)


def volume_band(citizens_in_group_1: int) -> VolumeBand:
    """Table 4-2's group-1 volume bands: under 100, 100-500, over 500 (L2370)."""
    if citizens_in_group_1 < 100:
        return "<100"
    if citizens_in_group_1 <= 500:
        return "100-500"
    return ">500"


def group_1_volumes(counts: Mapping[CountKey, Count]) -> dict[tuple[str, str], int]:
    """Citizens ever visited to group 1, by (municipality, period), from the counts."""
    return {
        (key.municipality, key.period): count.denominator
        for key, count in counts.items()
        if key.indicator == VOLUME_INDICATOR and key.group == 1
    }


def by_volume_band(counts: Mapping[CountKey, Count]) -> Counts:
    """Counts pooled by the municipality's group-1 volume in the same period.

    Cohort-curve cells have no calendar period; they take the municipality's volume in its
    latest period. A municipality with no group-1 citizen has volume 0 (under 100).
    """
    volumes = group_1_volumes(counts)
    latest: dict[str, tuple[str, int]] = {}
    for (municipality, period), volume in volumes.items():
        if municipality not in latest or period > latest[municipality][0]:
            latest[municipality] = (period, volume)

    def band(key: CountKey) -> str:
        volume = volumes.get((key.municipality, key.period))
        if volume is None:
            volume = latest.get(key.municipality, ("", 0))[1]
        return volume_band(volume)

    return pool(counts, band)


@dataclass(frozen=True, slots=True)
class Distribution:
    """Five-number summary of municipal values (as in seeds/004 Table 4-3, L2480-2490)."""

    n: int
    min: float
    q1: float
    median: float
    q3: float
    max: float


def quantile(ordered: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (Hyndman-Fan type 7).

    The method of numpy's default, Excel's QUARTILE.INC and statistics.quantiles(...,
    method="inclusive"); it is defined for a single value and never leaves the data range.
    """
    h = (len(ordered) - 1) * p
    below = floor(h)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (h - below) * (ordered[above] - ordered[below])


def distribution(values: Iterable[float]) -> Distribution | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return Distribution(
        n=len(ordered),
        min=ordered[0],
        q1=quantile(ordered, 0.25),
        median=quantile(ordered, 0.5),
        q3=quantile(ordered, 0.75),
        max=ordered[-1],
    )


def municipal_distribution(
    counts: Mapping[CountKey, Count],
    indicator: str,
    period: str,
    group: int | None,
    *,
    min_denominator: int = 1,
) -> Distribution | None:
    """Spread of unrounded municipal shares for one indicator cell.

    Municipalities with a denominator below `min_denominator` are left out; pass the
    suppression threshold when the summary is shown to roles that must not see small
    counts (a minimum or maximum would otherwise reveal one municipality's share).
    """
    shares = [
        count.numerator / count.denominator
        for key, count in counts.items()
        if (key.indicator, key.period, key.group) == (indicator, period, group)
        and key.municipality not in (NATIONAL, UNKNOWN_STRATUM)
        and count.denominator >= max(min_denominator, 1)
    ]
    return distribution(shares)
