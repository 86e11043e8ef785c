"""Month arithmetic on calendar dates (periods are calendar months, domain.md §2)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache


def month_index(day: date) -> int:
    """Months since year 0: consecutive months differ by one."""
    return day.year * 12 + day.month - 1


def from_index(index: int) -> date:
    """The first day of the month with this month_index."""
    return date(index // 12, index % 12 + 1, 1)


@cache
def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after the month of `day`."""
    return from_index(month_index(day) + months)


def next_month(day: date) -> date:
    return add_months(day, 1)


@cache
def last_day(day: date) -> date:
    """The last day of the month of `day`. Cached: a run meets a few thousand days."""
    return next_month(day) - timedelta(days=1)


@cache
def period(day: date) -> str:
    """The period (calendar month) of `day` as YYYY-MM."""
    return f"{day.year:04d}-{day.month:02d}"
