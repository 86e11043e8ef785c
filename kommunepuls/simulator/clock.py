"""The simulation clock: whole seconds since 2000-01-01 00:00 (Danish local time).

Send times are kept as integers while a run is made: adding, comparing and sorting ints is
several times cheaper than datetimes, and only the emissions handed out become datetimes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

EPOCH = datetime(2000, 1, 1)
_EPOCH_ORDINAL = EPOCH.toordinal()
MINUTE = 60
HOUR = 3600
DAY = 86_400


@cache
def midnight(day: date) -> int:
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY


def at(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def day_of(seconds: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + seconds // DAY)


@cache
def _month_of_day(day_number: int) -> int:
    d = date.fromordinal(_EPOCH_ORDINAL + day_number)
    return d.year * 12 + d.month - 1


def month_of(seconds: int) -> int:
    """The month_index (periods.month_index) of the day `seconds` falls on."""
    return _month_of_day(seconds // DAY)
