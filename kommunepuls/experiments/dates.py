"""Calendar arithmetic the experiments' rules are written in: "senest 6 mdr. efter",
"12 kalendermåneder", quarters, half-years."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Aug + 6 = 28 Feb):
    "senest 6 mdr. efter" 31 August is the end of February, not 3 March."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def quarter_label(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(label: str) -> tuple[date, date]:
    year, quarter = int(label[:4]), int(label[-1])
    first = date(year, 3 * quarter - 2, 1)
    return first, month_end(date(year, 3 * quarter, 1))


def half_year_label(day: date) -> str:
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def half_year_bounds(label: str) -> tuple[date, date]:
    year, half = int(label[:4]), int(label[-1])
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1),
                                                                   date(year, 12, 31))


def period_bounds(label: str) -> tuple[date, date]:
    """First and last day of a period label: YYYY-MM, YYYY-Qn or YYYY-Hn."""
    if "-Q" in label:
        return quarter_bounds(label)
    if "-H" in label:
        return half_year_bounds(label)
    first = date(int(label[:4]), int(label[5:7]), 1)
    return first, month_end(first)
