"""One citizen's state as of a day, indexed for the questions the indicator populations ask.

A CitizenState holds dates and open spells; indicators ask "was the citizen a member on
this reference day?", "was there virksomhedsforløb mv. in these months?", "when was the
first such day after the visitation?". The view answers them after clipping every open
spell at `today` (open "until now") and dropping what starts after it, and caches each
answer, because the same citizen is asked about many periods and several indicators.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from kommunepuls.domain.catalogue import Condition, IndicatorDefinition
from kommunepuls.domain.citizen import CitizenState
from kommunepuls.domain.intervals import IntervalSet
from kommunepuls.domain.periods import (
    first_day,
    first_ordinal,
    last_day,
    last_ordinal,
    month_index,
    period_label,
    period_month,
)

VIRKSOMHEDSRETTET = frozenset(
    {"virksomhedspraktik", "loentilskud_privat", "loentilskud_offentlig", "nytteindsats"}
)
# Virksomhedsforløb mv. = virksomhedsrettet tilbud, ordinary hours, fleksjob and ordinary
# education (seeds/004 L134-138).
VIRKSOMHEDSFORLOEB_KINDS = VIRKSOMHEDSRETTET | {"ordinaer_uddannelse", "fleksjob"}
# Hours at the employer of these are subsidised, not ordinary (seeds/004 Fig 4-4, L2239).
SUBSIDISED_KINDS = frozenset({"loentilskud_privat", "loentilskud_offentlig", "fleksjob"})


# Built as plain tuples typed as the NamedTuple: the NamedTuple constructor is a Python-level
# call, and these are made by the hundred per citizen.
_new = tuple.__new__


class Segment(NamedTuple):
    first: int  # day ordinals, inclusive, clipped to today
    last: int
    municipality: str
    group: int


class MemberMonth(NamedTuple):
    """A month whose reference day finds the citizen a member, and not exempt."""

    month: int
    period: str
    municipality: str
    group: int


class Activity:
    """The days on which a numerator condition held, by day and by month."""

    __slots__ = ("_windows", "days", "months")

    def __init__(self, days: IntervalSet) -> None:
        self.days = days
        self.months = frozenset(
            m for first, last in days.spans() for m in range(_month_of(first), _month_of(last) + 1)
        )
        self._windows: dict[int, frozenset[int]] = {}

    def window_ends(self, months: int) -> frozenset[int]:
        """Months whose window of `months` months (ending with them) has an active month."""
        found = self._windows.get(months)
        if found is None:
            found = frozenset(m + k for m in self.months for k in range(months))
            self._windows[months] = found
        return found


class CitizenView:
    """A CitizenState seen from `today`; built per contributions() call, then dropped."""

    __slots__ = (
        "_activity",
        "_exempt",
        "_members",
        "_segments",
        "_state",
        "today",
        "today_month",
        "today_ordinal",
    )

    def __init__(self, state: CitizenState, today: date) -> None:
        self._state = state
        self.today = today
        self.today_ordinal = today.toordinal()
        self.today_month = month_index(today)
        self._exempt: IntervalSet | None = None
        self._segments: dict[tuple[str, tuple[int, ...]], list[Segment]] = {}
        self._members: dict[tuple[str, tuple[int, ...]], list[MemberMonth]] = {}
        self._activity: dict[tuple[Condition, int | None, str], Activity] = {}

    def _clip(self, start: date, end: date | None) -> tuple[int, int]:
        last = self.today_ordinal if end is None else min(end.toordinal(), self.today_ordinal)
        return start.toordinal(), last

    def segments(self, definition: IndicatorDefinition) -> list[Segment]:
        """The definition's memberships that began by today, in start order."""
        key = (definition.programme, definition.groups)
        found = self._segments.get(key)
        if found is None:
            found = []
            for m in self._state.memberships:
                if m.programme != key[0] or m.group not in key[1] or m.start > self.today:
                    continue
                first, last = self._clip(m.start, m.end)
                found.append(_new(Segment, (first, last, m.municipality, m.group)))
            self._segments[key] = found
        return found

    def member_months(self, definition: IndicatorDefinition) -> list[MemberMonth]:
        """Months up to today whose reference day finds a member, not exempt, in start order.

        The reference day is the month's last day, or today in the unfinished month.
        """
        key = (definition.programme, definition.groups)
        found = self._members.get(key)
        if found is not None:
            return found
        found = []
        exempt = self.exempt()
        today = self.today_ordinal
        # Memberships of one programme never overlap (a visitation replaces), so each
        # month's reference day falls in at most one of them.
        for first, last, municipality, group in self.segments(definition):
            for month in range(_month_of(first), _month_of(last) + 1):
                reference = min(last_ordinal(month), today)
                if first <= reference <= last and not (exempt and exempt.contains(reference)):
                    found.append(
                        _new(MemberMonth, (month, period_label(month), municipality, group))
                    )
        self._members[key] = found
        return found

    def cohorts(self, definition: IndicatorDefinition) -> dict[tuple[str, int], int]:
        """First day of membership per (municipality, group) among the counted groups."""
        first: dict[tuple[str, int], int] = {}
        for segment in self.segments(definition):
            key = (segment.municipality, segment.group)
            if key not in first:  # segments come in start order
                first[key] = segment.first
        return first

    def exempt(self) -> IntervalSet:
        if self._exempt is None:
            self._exempt = IntervalSet(self._clip(e.start, e.end) for e in self._state.exemptions)
        return self._exempt

    def activity(self, definition: IndicatorDefinition, municipality: str) -> Activity:
        """The days on which the definition's numerator condition held, up to today."""
        condition = definition.condition
        # Only afklaret depends on the municipality (a municipality is credited with its
        # own clarifications); the other conditions are one set per citizen.
        where = municipality if condition is Condition.AFKLARET else ""
        key = (condition, definition.min_hours, where)
        found = self._activity.get(key)
        if found is None:
            if condition is Condition.VIRKSOMHEDSFORLOEB:
                days = self._virksomhedsforloeb()
            elif condition is Condition.ORDINARY_HOURS:
                days = self._ordinary_hours(definition.min_hours)
            else:
                days = self._afklaret_in(municipality)
            found = self._activity[key] = Activity(days)
        return found

    def _virksomhedsforloeb(self) -> IntervalSet:
        spells = [
            self._clip(t.start, t.end)
            for t in self._state.tilbud
            if t.kind in VIRKSOMHEDSFORLOEB_KINDS
        ]
        # The broad measure counts every reported ordinary hour, subsidised or not: the
        # subsidy's own tilbud counts anyway.
        months = [period_month(h.month) for h in self._state.ordinary_hours if h.hours > 0]
        return IntervalSet(spells + self._month_spans(months))

    def _ordinary_hours(self, min_hours: int | None) -> IntervalSet:
        subsidised = [t for t in self._state.tilbud if t.kind in SUBSIDISED_KINDS and t.cvr]
        months = []
        for report in self._state.ordinary_hours:
            enough = report.hours > 0 if min_hours is None else report.hours >= min_hours
            if not enough:
                continue
            month = period_month(report.month)
            if report.cvr and any(
                t.cvr == report.cvr
                and t.start <= last_day(month)
                and (t.end is None or t.end >= first_day(month))
                for t in subsidised
            ):
                continue
            months.append(month)
        return IntervalSet(self._month_spans(months))

    def _afklaret_in(self, municipality: str) -> IntervalSet:
        days = [a.on.toordinal() for a in self._state.afklaret if a.municipality == municipality]
        return IntervalSet((d, d) for d in days if d <= self.today_ordinal)

    def _month_spans(self, months: list[int]) -> list[tuple[int, int]]:
        return [
            (first_ordinal(m), min(last_ordinal(m), self.today_ordinal))
            for m in months
            if m <= self.today_month
        ]

    def moved_away(self, municipality: str, since: int) -> int | None:
        """First day on or after `since` the citizen no longer lives in the municipality."""
        days = [
            r.on.toordinal()
            for r in self._state.relocations
            if r.to_municipality != municipality and r.on.toordinal() >= since
        ]
        # A visitation in another municipality is evidence of a move even when the move
        # itself was never reported.
        days += [
            m.start.toordinal()
            for m in self._state.memberships
            if m.municipality != municipality and m.start.toordinal() >= since
        ]
        return min(days, default=None)


def _month_of(ordinal: int) -> int:
    return month_index(date.fromordinal(ordinal))
