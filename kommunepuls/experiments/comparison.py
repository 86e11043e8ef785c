"""Experiment vs comparison municipalities, before vs after the start: the
difference-in-differences estimate from pooled counts, and a pre-trend check.

The evaluators' design (seeds/000 L442-448, seeds/003 L5484-5506): the effect is the
trial municipalities' change from before to after minus the comparison municipalities'
change over the same periods, and the parallel-trends assumption is made plausible by the
two groups moving alike before the start. Here every value is a pooled ratio — the summed
numerators over the summed denominators of a group's municipalities and periods, never an
average of municipal shares (domain.md §7) — and the arithmetic is exact (fractions), so
rounding happens once, half-up, when a figure is shown.

Which periods count: a period wholly before the start is "before", one wholly on or after
it is "after", one the start cuts through is left out. A design may narrow both sides to
explicit spans (the rehabilitation evaluation compares 2016 with July 2017 - December
2019 and leaves out the first half of 2017, seeds/003 L7258-7260).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from kommunepuls.domain.evaluation import Count
from kommunepuls.domain.rounding import round_half_up
from kommunepuls.experiments.dates import period_bounds

Series = Mapping[tuple[str, str], Count]  # (municipality, period) -> pooled counts
Side = Literal["before", "after"]


@dataclass(frozen=True, slots=True)
class Pooled:
    numerator: int
    denominator: int

    @property
    def ratio(self) -> Fraction | None:
        return None if self.denominator == 0 else Fraction(self.numerator, self.denominator)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    period: str
    trial: Pooled
    comparison: Pooled
    gap: Fraction | None  # trial ratio - comparison ratio


@dataclass(frozen=True, slots=True)
class PreTrend:
    points: tuple[TrendPoint, ...]
    slope: Fraction | None  # least-squares slope of the gap, per before-period
    placebo: Fraction | None  # DiD of the later half of the before periods vs the earlier


@dataclass(frozen=True, slots=True)
class Comparison:
    trial_before: Pooled
    trial_after: Pooled
    comparison_before: Pooled
    comparison_after: Pooled
    periods_before: tuple[str, ...]
    periods_after: tuple[str, ...]
    pre_trend: PreTrend

    @property
    def trial_change(self) -> Fraction | None:
        return _change(self.trial_before, self.trial_after)

    @property
    def comparison_change(self) -> Fraction | None:
        return _change(self.comparison_before, self.comparison_after)

    @property
    def did(self) -> Fraction | None:
        """The difference-in-differences estimate, in the ratio's own unit (a share's
        0.17 is 17 percentage points)."""
        t, c = self.trial_change, self.comparison_change
        return None if t is None or c is None else t - c


def _change(before: Pooled, after: Pooled) -> Fraction | None:
    b, a = before.ratio, after.ratio
    return None if b is None or a is None else a - b


def points(value: Fraction | None, places: int = 1, scale: int = 100) -> Decimal | None:
    """A ratio or difference for display: x 100 (percent / percentage points), half-up."""
    if value is None:
        return None
    exact = Decimal(value.numerator * scale) / Decimal(value.denominator)
    return round_half_up(exact, places)


def side_of(period: str, start: date, before: tuple[date, date] | None = None,
            after: tuple[date, date] | None = None) -> Side | None:
    first, last = period_bounds(period)
    if last < start:
        span, side = before, "before"
    elif first >= start:
        span, side = after, "after"
    else:
        return None  # the start falls inside the period
    if span is not None and not (span[0] <= first and last <= span[1]):
        return None
    return side  # type: ignore[return-value]


def _pool(series: Series, municipalities: Collection[str],
          periods: Collection[str]) -> Pooled:
    n = d = 0
    for (municipality, period), count in series.items():
        if municipality in municipalities and period in periods:
            n += count.numerator
            d += count.denominator
    return Pooled(n, d)


def _slope(xs: list[int], ys: list[Fraction]) -> Fraction | None:
    if len(xs) < 2:
        return None
    mx, my = Fraction(sum(xs), len(xs)), sum(ys, Fraction(0)) / len(ys)
    var = sum(((x - mx) ** 2 for x in xs), Fraction(0))
    return sum(((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)), Fraction(0)) / var


def pre_trend(series: Series, trial: Collection[str], comparison: Collection[str],
              before: tuple[str, ...]) -> PreTrend:
    found = []
    for period in before:
        t, c = _pool(series, trial, {period}), _pool(series, comparison, {period})
        gap = None if t.ratio is None or c.ratio is None else t.ratio - c.ratio
        found.append(TrendPoint(period, t, c, gap))
    known = [(i, p.gap) for i, p in enumerate(found) if p.gap is not None]
    slope = _slope([i for i, _ in known], [g for _, g in known])  # type: ignore[misc]
    placebo = None
    if len(before) >= 2:
        early, late = before[: len(before) // 2], before[len(before) // 2:]
        t_change = _change(_pool(series, trial, early), _pool(series, trial, late))
        c_change = _change(_pool(series, comparison, early), _pool(series, comparison, late))
        placebo = None if t_change is None or c_change is None else t_change - c_change
    return PreTrend(tuple(found), slope, placebo)


def compare(series: Series, trial: Collection[str], comparison: Collection[str],
            start: date, *, before: tuple[date, date] | None = None,
            after: tuple[date, date] | None = None) -> Comparison:
    """Pooled before/after values of both groups, the DiD and the pre-trend check."""
    if set(trial) & set(comparison):
        raise ValueError("a municipality cannot be in both groups")
    periods = sorted({period for _, period in series})
    sides = {p: side_of(p, start, before, after) for p in periods}
    periods_before = tuple(p for p in periods if sides[p] == "before")
    periods_after = tuple(p for p in periods if sides[p] == "after")
    return Comparison(
        trial_before=_pool(series, trial, periods_before),
        trial_after=_pool(series, trial, periods_after),
        comparison_before=_pool(series, comparison, periods_before),
        comparison_after=_pool(series, comparison, periods_after),
        periods_before=periods_before,
        periods_after=periods_after,
        pre_trend=pre_trend(series, trial, comparison, periods_before),
    )
