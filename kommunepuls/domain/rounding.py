"""Percentages as published: rounded half-up, computed exactly.

Python's round() and float formatting round half to even on binary floats, so
40/128 = 31.25 % would print as 31.2; published Danish statistics round half-up to 31.3
(domain.md §7). Decimal arithmetic on the integer counts keeps the half exact.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def round_half_up(value: Decimal, places: int = 1) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def percent_half_up(numerator: int, denominator: int, places: int = 1) -> Decimal:
    """100 * numerator / denominator, rounded half-up to `places` decimals."""
    if denominator <= 0:
        raise ValueError("a percentage needs a positive denominator")
    # Decimal division is exact to 28 significant digits, far beyond any count ratio's
    # rounding boundary at 1-2 decimals, so the half is seen as a half.
    return round_half_up(Decimal(100 * numerator) / Decimal(denominator), places)
