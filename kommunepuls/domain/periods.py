"""Calendar months as integers, and the `YYYY-MM` period labels the API speaks.

Indicators walk month by month over a citizen's history; an integer month index
(year * 12 + month - 1) makes "the 3 months ending with the period" plain arithmetic,
and the caches below make the per-month dates and labels free after the first citizen.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


@cache
def period_month(period: str) -> int:
    """The month index of a `YYYY-MM` period label."""
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


@cache
def period_label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


@cache
def first_day(month: int) -> date:
    return date(month // 12, month % 12 + 1, 1)


@cache
def last_day(month: int) -> date:
    return first_day(month + 1) - timedelta(days=1)


@cache
def first_ordinal(month: int) -> int:
    return first_day(month).toordinal()


@cache
def last_ordinal(month: int) -> int:
    return last_day(month).toordinal()
