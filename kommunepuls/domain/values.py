"""An indicator's value as shown: ratio, percent, target met, and small-number suppression."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from kommunepuls.domain.rounding import percent_half_up

# Counts 1-4 identify people in small municipalities (domain.md §4).
SUPPRESSION_THRESHOLD = 5


@dataclass(frozen=True, slots=True)
class IndicatorValue:
    numerator: int | None
    denominator: int | None
    value: float | None  # 0..1, unrounded; None when there is no denominator
    value_pct: float | None  # percent, rounded half-up to 1 decimal
    target: float | None  # share to reach or exceed, 0..1
    met: bool | None  # None when there is no target or no value
    suppressed: bool = False


def indicator_value(
    numerator: int, denominator: int, target: Decimal | None = None
) -> IndicatorValue:
    """The pooled ratio numerator / denominator, compared with the target exactly."""
    if denominator <= 0:
        return IndicatorValue(
            numerator, denominator, None, None, _float(target), None, suppressed=False
        )
    # `met` compares integers and an exact Decimal target: 0.4 as a float is a hair above
    # 0.4, which would fail a municipality at exactly 40 %.
    met = None if target is None else Decimal(numerator) >= target * denominator
    return IndicatorValue(
        numerator=numerator,
        denominator=denominator,
        value=numerator / denominator,
        value_pct=float(percent_half_up(numerator, denominator)),
        target=_float(target),
        met=met,
    )


def is_small(count: int | None, threshold: int = SUPPRESSION_THRESHOLD) -> bool:
    return count is not None and 1 <= count < threshold


def suppress(value: IndicatorValue, threshold: int = SUPPRESSION_THRESHOLD) -> IndicatorValue:
    """Hide a value whose numerator or denominator is 1..threshold-1 (zero is shown)."""
    if not (is_small(value.numerator, threshold) or is_small(value.denominator, threshold)):
        return value
    return replace(
        value,
        numerator=None,
        denominator=None,
        value=None,
        value_pct=None,
        met=None,
        suppressed=True,
    )


def _float(target: Decimal | None) -> float | None:
    return None if target is None else float(target)
