"""One citizen's state as of a day, indexed for the questions the indicator populations ask.

A CitizenState holds dates and open spells; indicators ask "was the citizen a member on
this reference day?", "was there virksomhedsforløb mv. in these months?", "when was the
first such day after the visitation?". The view answers them after clipping every open
spell at `today` (open "until now") and dropping what starts after it, and caches each
answer, because the same citizen is asked about many periods and several indicators.

Answers come as runs: sorted, disjoint, non-adjacent inclusive (first, last) pairs of day
ordinals or month indexes (see `intervals.py`). A citizen is a member, or active, for long
unbroken stretches, so the engine handles a handful of runs where it would otherwise visit
every month of every indicator. This is the live stream's hot path (every citizen, on
every event and every day), hence plain tuples and lists rather than objects per answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from kommunepuls.domain.catalogue import Condition, IndicatorDefinition
from kommunepuls.domain.citizen import CitizenState, Interval, TilbudSpell
from kommunepuls.domain.intervals import IntervalSet, Runs, merge_runs
from kommunepuls.domain.periods import (
    MONTH_OF_ORDINAL,
    PERIOD_SPANS,
    first_day,
    first_ordinal,
    last_day,
    last_ordinal,
    ordinal_month,
    period_span,
)

VIRKSOMHEDSRETTET = frozenset(
    {"virksomhedspraktik", "loentilskud_privat", "loentilskud_offentlig", "nytteindsats"}
)
# Virksomhedsforløb mv. = virksomhedsrettet tilbud, ordinary hours, fleksjob and ordinary
# education (seeds/004 L134-138).
VIRKSOMHEDSFORLOEB_KINDS = VIRKSOMHEDSRETTET | {"ordinaer_uddannelse", "fleksjob"}
# Hours at the employer of these are subsidised, not ordinary (seeds/004 Fig 4-4, L2239).
SUBSIDISED_KINDS = frozenset({"loentilskud_privat", "loentilskud_offentlig", "fleksjob"})

_VIRKSOMHEDSFORLOEB = Condition.VIRKSOMHEDSFORLOEB.value
_ORDINARY_HOURS = Condition.ORDINARY_HOURS.value
_AFKLARET = Condition.AFKLARET.value

# (first, last, municipality, group): a membership, in day ordinals clipped to today. The
# group is one of the groups asked about (so not None when those are ints).
Segment = tuple[int, int, str, int | None]
# (municipality, group, first, last): consecutive months whose reference day finds the
# citizen a member, and not exempt.
MemberRun = tuple[str, int | None, int, int]
# (municipality, group, first day of membership): one per cohort, in order of first day.
Cohort = tuple[str, int | None, int]
# The days on which a condition held: [day spans, month mask]; see CitizenView._condition.
_Held = list[Any]


class Activity:
    """The days on which a numerator condition held, and the months they touch."""

    __slots__ = ("days", "months")

    def __init__(self, days: IntervalSet, months: IntervalSet) -> None:
        self.days = days
        self.months = months


class CitizenView:
    """A CitizenState seen from `today`; built per contributions() call, then dropped.

    Conditions are named by their `Condition.value` and the municipality is "" for the
    conditions that do not depend on it (all but afklaret): cache keys of plain strings
    hash at C speed, an Enum's hash is a Python call.
    """

    __slots__ = ("_memo", "_state", "today", "today_month", "today_ordinal")

    def __init__(self, state: CitizenState, today: date) -> None:
        self._state = state
        self.today = today
        self.today_ordinal = today.toordinal()
        self.today_month = today.year * 12 + today.month - 1
        self._memo: dict[tuple[Any, ...], Any] = {}

    def segments(self, programme: str, groups: tuple[int, ...]) -> list[Segment]:
        """(first, last, municipality, group) of the memberships that began by today, in
        start order; days clipped to today."""
        key = ("segments", programme, groups)
        found: list[Segment] | None = self._memo.get(key)
        if found is None:
            found = self._memo[key] = []
            today, today_ordinal = self.today, self.today_ordinal
            for m in self._state.memberships:
                if m.programme != programme or m.group not in groups or m.start > today:
                    continue
                end = m.end
                last = today_ordinal if end is None else end.toordinal()
                if last > today_ordinal:
                    last = today_ordinal
                found.append((m.start.toordinal(), last, m.municipality, m.group))
        return found

    def member_runs(self, programme: str, groups: tuple[int, ...]) -> list[MemberRun]:
        """Months up to today whose reference day finds a member, not exempt, as runs.

        The reference day is the month's last day, or today in the unfinished month.
        """
        key = ("members", programme, groups)
        found: list[MemberRun] | None = self._memo.get(key)
        if found is not None:
            return found
        found = self._memo[key] = []
        today = self.today_ordinal
        exempt = self._exempt_months() if self._state.exemptions else None
        # Memberships of one programme never overlap (a visitation replaces), so each
        # month's reference day falls in at most one of them.
        for first, last, municipality, group in self.segments(programme, groups):
            # The reference days of the months up to the segment's last month lie on or
            # after its first day; they lie on or before its last day except, perhaps, in
            # that last month, whose reference day may come after the segment ended.
            start = MONTH_OF_ORDINAL.get(first) or ordinal_month(first)
            end = MONTH_OF_ORDINAL.get(last) or ordinal_month(last)
            if last < today and last < last_ordinal(end):
                end -= 1
            if exempt:
                for run_first, run_last in _without(start, end, exempt):
                    found.append((municipality, group, run_first, run_last))
            elif start <= end:
                found.append((municipality, group, start, end))
        return found

    def _exempt_months(self) -> Runs:
        """Runs of months whose reference day is an exempt day."""
        runs = []
        today = self.today_ordinal
        # The reference day grows with the month, so the months whose reference day lies
        # in an exempt span [a, b] are one run: from a's month to b's, minus b's month
        # when its reference day comes after b.
        for a, b in merge_runs(sorted(self._clipped(self._state.exemptions))):
            last = ordinal_month(b)
            if b < min(last_ordinal(last), today):
                last -= 1
            first = ordinal_month(a)
            if first <= last:
                runs.append((first, last))
        return runs

    def cohorts(self, programme: str, groups: tuple[int, ...]) -> list[Cohort]:
        """First day of membership per (municipality, group) among the counted groups."""
        key = ("cohorts", programme, groups)
        found: list[Cohort] | None = self._memo.get(key)
        if found is None:
            found = self._memo[key] = []
            seen = set()
            for first, _, municipality, group in self.segments(programme, groups):
                if (municipality, group) not in seen:  # segments come in start order
                    seen.add((municipality, group))
                    found.append((municipality, group, first))
        return found

    def moved_away(self, municipality: str, since: int) -> int | None:
        """First day on or after `since` the citizen no longer lives in the municipality."""
        found = None
        for r in self._state.relocations:
            if r.to_municipality != municipality:
                day = r.on.toordinal()
                if day >= since and (found is None or day < found):
                    found = day
        # A visitation in another municipality is evidence of a move even when the move
        # itself was never reported.
        for m in self._state.memberships:
            if m.municipality != municipality:
                day = m.start.toordinal()
                if day >= since and (found is None or day < found):
                    found = day
        return found

    def _condition(self, condition: str, min_hours: int | None, municipality: str) -> _Held:
        """(day spans, month mask) of the days up to today on which the condition held.

        The spans are neither sorted nor merged (they are only scanned), and made when
        first asked for if the months say it all (hours: whole months); the mask has bit
        i set for month today_month - i (months after today's never count).
        """
        key = (condition, min_hours, municipality)
        found: _Held | None = self._memo.get(key)
        if found is None:
            if condition == _VIRKSOMHEDSFORLOEB:
                found = self._virksomhedsforloeb()
            elif condition == _ORDINARY_HOURS:
                found = [None, self._ordinary_hours(min_hours)]
            else:
                found = self._afklaret(municipality)
            self._memo[key] = found
        return found

    def months(self, condition: str, min_hours: int | None, municipality: str) -> int:
        """Mask of the months with at least one day on which the condition held."""
        return self._condition(condition, min_hours, municipality)[1]

    def active_between(
        self, condition: str, min_hours: int | None, municipality: str, first: int, last: int
    ) -> bool:
        """Whether the condition held on some day in [first, last]."""
        for start, end in self._spans(condition, min_hours, municipality):
            if start <= last and end >= first:
                return True
        return False

    def _spans(
        self, condition: str, min_hours: int | None, municipality: str
    ) -> list[tuple[int, int]]:
        held = self._condition(condition, min_hours, municipality)
        if held[0] is None:  # whole months, the current one up to today
            today = self.today_ordinal
            held[0] = [
                (first_ordinal(a), min(last_ordinal(b), today))
                for a, b in mask_runs(held[1], self.today_month)
            ]
        spans: list[tuple[int, int]] = held[0]
        return spans

    def first_active_month(
        self, condition: str, min_hours: int | None, municipality: str, since: int
    ) -> int | None:
        """The month of the first day on or after `since` (<= today) on which the
        condition held, if any."""
        month = MONTH_OF_ORDINAL.get(since) or ordinal_month(since)
        if self.active_between(condition, min_hours, municipality, since, last_ordinal(month)):
            return month
        # Every day of a later month is after `since`: the first later active month.
        later_months = (1 << (self.today_month - month)) - 1
        later = self.months(condition, min_hours, municipality) & later_months
        return self.today_month - later.bit_length() + 1 if later else None

    def window_ends(
        self, condition: str, min_hours: int | None, municipality: str, window: int
    ) -> int:
        """Mask of the months whose window of `window` months (ending with them) has an
        active month."""
        key = (condition, min_hours, municipality, window)
        found: int | None = self._memo.get(key)
        if found is None:
            # An active month makes itself and the window - 1 months after it window ends;
            # later months are lower bits. A window of no months has no active month.
            months = found = self.months(condition, min_hours, municipality)
            for shift in range(1, window):
                found |= months >> shift
            if window < 1:
                found = 0
            self._memo[key] = found
        return found

    def activity(self, definition: IndicatorDefinition, municipality: str) -> Activity:
        """The days (and months) on which the definition's numerator condition held."""
        condition = definition.condition.value
        # Only afklaret depends on the municipality (a municipality is credited with its
        # own clarifications); the other conditions are one set per citizen.
        where = municipality if condition == _AFKLARET else ""
        days = IntervalSet(self._spans(condition, definition.min_hours, where))
        months = mask_runs(self.months(condition, definition.min_hours, where), self.today_month)
        return Activity(days, IntervalSet(months))

    def _clipped(self, spells: Iterable[Interval | TilbudSpell]) -> list[tuple[int, int]]:
        """Spells as day-ordinal spans, open ones and those running past today ending today
        (one starting after today comes out empty: first > last)."""
        today = self.today_ordinal
        spans = []
        for spell in spells:
            end = spell.end
            last = today if end is None else end.toordinal()
            spans.append((spell.start.toordinal(), today if last > today else last))
        return spans

    def _virksomhedsforloeb(self) -> _Held:
        today, today_month = self.today_ordinal, self.today_month
        spans = []
        months = 0
        for t in self._state.tilbud:
            if t.kind in VIRKSOMHEDSFORLOEB_KINDS:
                end = t.end
                last = today if end is None else end.toordinal()
                if last > today:
                    last = today
                first = t.start.toordinal()
                if first <= last:
                    spans.append((first, last))
                    start = MONTH_OF_ORDINAL.get(first) or ordinal_month(first)
                    stop = MONTH_OF_ORDINAL.get(last) or ordinal_month(last)
                    months |= ((1 << (stop - start + 1)) - 1) << (today_month - stop)
        # The broad measure counts every reported ordinary hour, subsidised or not: the
        # subsidy's own tilbud counts anyway.
        for report in self._state.ordinary_hours:
            if report.hours > 0:
                month, first, last = PERIOD_SPANS.get(report.month) or period_span(report.month)
                if month <= today_month:
                    spans.append((first, last if last < today else today))
                    months |= 1 << (today_month - month)
        return [spans, months]

    def _ordinary_hours(self, min_hours: int | None) -> int:
        """Mask of the months with enough hours, not at a subsidy's employer."""
        tilbud = self._state.tilbud
        subsidised = [t for t in tilbud if t.kind in SUBSIDISED_KINDS and t.cvr] if tilbud else []
        months = 0
        today_month = self.today_month
        for report in self._state.ordinary_hours:
            hours = report.hours
            if not (hours > 0 if min_hours is None else hours >= min_hours):
                continue
            month = (PERIOD_SPANS.get(report.month) or period_span(report.month))[0]
            if month > today_month:
                continue
            if (
                report.cvr
                and subsidised
                and any(
                    t.cvr == report.cvr
                    and t.start <= last_day(month)
                    and (t.end is None or t.end >= first_day(month))
                    for t in subsidised
                )
            ):
                continue
            months |= 1 << (today_month - month)
        return months

    def _afklaret(self, municipality: str) -> _Held:
        today, today_month = self.today_ordinal, self.today_month
        spans = []
        mask = 0
        for a in self._state.afklaret:
            if a.municipality == municipality:
                day = a.on.toordinal()
                if day <= today:
                    spans.append((day, day))
                    mask |= 1 << (today_month - ordinal_month(day))
        return [spans, mask]


def _without(first: int, last: int, holes: Runs) -> Runs:
    """The run [first, last] minus the runs `holes`, as runs."""
    runs = []
    for a, b in holes:
        if b < first or a > last:
            continue
        if a > first:
            runs.append((first, a - 1))
        first = b + 1
    if first <= last:
        runs.append((first, last))
    return runs


def mask_runs(mask: int, today_month: int) -> Runs:
    """The months of a month mask (bit i = month today_month - i) as runs, latest first."""
    runs = []
    offset = 0
    while mask:
        zeros = (mask & -mask).bit_length() - 1
        mask >>= zeros
        offset += zeros
        ones = (mask ^ (mask + 1)).bit_length() - 1
        runs.append((today_month - offset - ones + 1, today_month - offset))
        mask >>= ones
        offset += ones
    return runs
