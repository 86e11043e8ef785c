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


# The engine asks for the months of the same days again and again; hot loops read this
# dict directly (`MONTH_OF_ORDINAL.get(o) or ordinal_month(o)`: no month index is 0),
# which is cheaper than calling a cached function. Bounded by the number of distinct days.
MONTH_OF_ORDINAL: dict[int, int] = {}


def ordinal_month(ordinal: int) -> int:
    """The month index of a day ordinal."""
    month = MONTH_OF_ORDINAL.get(ordinal)
    if month is None:
        month = MONTH_OF_ORDINAL[ordinal] = month_index(date.fromordinal(ordinal))
    return month


# Like MONTH_OF_ORDINAL: hot loops read `PERIOD_SPANS.get(p) or period_span(p)`.
PERIOD_SPANS: dict[str, tuple[int, int, int]] = {}


def period_span(period: str) -> tuple[int, int, int]:
    """A `YYYY-MM` period's month index and the ordinals of its first and last day."""
    found = PERIOD_SPANS.get(period)
    if found is None:
        month = period_month(period)
        found = PERIOD_SPANS[period] = (month, first_ordinal(month), last_ordinal(month))
    return found
