"""One citizen's state as of a day, indexed for the questions the indicator populations ask.

A CitizenState holds dates and open spells; indicators ask "was the citizen a member on
this reference day?", "was there virksomhedsforløb mv. in these months?", "when was the
first such day after the visitation?". The view answers them after clipping every open
spell at `today` (open "until now") and dropping what starts after it, and caches each
answer, because the same citizen is asked about many periods and several indicators.

This is the live stream's hot path (every citizen, on every event and every day), so
sets of months are masks, Python ints with bit i for month today_month - i: "the months
that end a 3-month window with activity" is `m | m >> 1 | m >> 2`, "member months with
activity" is `members & active`. Answers are plain tuples and lists, kept in one memo.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from kommunepuls.domain.catalogue import Condition, IndicatorDefinition
from kommunepuls.domain.citizen import CitizenState, MonthHours, TilbudSpell
from kommunepuls.domain.intervals import IntervalSet
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

# Runs: sorted, disjoint, inclusive (first, last) pairs of months.
Runs = list[tuple[int, int]]
# (first, last, municipality, group): a membership, in day ordinals clipped to today. The
# group is one of the groups asked about (so not None when those are ints).
Segment = tuple[int, int, str, int | None]
# (municipality, group, first, last): consecutive months whose reference day finds the
# citizen a member, and not exempt.
MemberRun = tuple[str, int | None, int, int]
# (municipality, group, first day of membership): one per cohort, in order of first day.
Cohort = tuple[str, int | None, int]
# The days on which a numerator condition held, as [spans, whole, months, windows]:
# - SPANS: (first, last) day ordinals of spells (tilbud, afklaret days), neither sorted
#   nor merged: they are only scanned;
# - WHOLE: the months held on every day (hours reports; the current month up to today);
# - MONTHS: the months with at least one held day (WHOLE and the spans' months);
# - WINDOWS: {window: the months whose window of that many months, ending with them,
#   has a held month}, filled by `window_ends`.
# Month sets are masks: bit i is month today_month - i (months after today's never count,
# so no bit is negative). A list, not an object: several are made per citizen on the
# stream's hot path.
Held = list[Any]
SPANS, WHOLE, MONTHS, WINDOWS = 0, 1, 2, 3


class Activity:
    """The days on which a numerator condition held, and the months they touch."""

    __slots__ = ("days", "months")

    def __init__(self, days: IntervalSet, months: IntervalSet) -> None:
        self.days = days
        self.months = months


class CitizenView:
    """A CitizenState seen from `today`; built per contributions() call, then dropped.

    Conditions are named by their `Condition.value`, and the municipality is "" for the
    conditions that do not depend on it (all but afklaret): memo keys of strings hash in
    C, where an Enum's hash is a Python call.
    """

    __slots__ = ("_memo", "_state", "today", "today_month", "today_ordinal")

    def __init__(self, state: CitizenState, today: date) -> None:
        self._state = state
        self.today = today
        self.today_ordinal = today.toordinal()
        self.today_month = today.year * 12 + today.month - 1
        self._memo: dict[tuple[Any, ...] | str, Any] = {}

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
        today, today_month = self.today_ordinal, self.today_month
        exempt = self._exempt_months() if self._state.exemptions else 0
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
            if start > end:
                continue
            run = ((1 << (end - start + 1)) - 1) << (today_month - end)
            if not run & exempt:
                found.append((municipality, group, start, end))
            else:
                for run_first, run_last in mask_runs(run & ~exempt, today_month):
                    found.append((municipality, group, run_first, run_last))
        return found

    def _exempt_months(self) -> int:
        """Mask of the months whose reference day is an exempt day."""
        today, today_month = self.today_ordinal, self.today_month
        months = 0
        # The reference day grows with the month, so the months whose reference day lies
        # in an exempt spell [a, b] are one run: from a's month to b's, minus b's month
        # when its reference day comes after b.
        for exemption in self._state.exemptions:
            a, end = exemption.start.toordinal(), exemption.end
            b = today if end is None else end.toordinal()
            if b > today:
                b = today
            if a > b:
                continue  # starts after today
            first = MONTH_OF_ORDINAL.get(a) or ordinal_month(a)
            last = MONTH_OF_ORDINAL.get(b) or ordinal_month(b)
            if b < today and b < last_ordinal(last):
                last -= 1
            if first <= last:
                months |= ((1 << (last - first + 1)) - 1) << (today_month - last)
        return months

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

    def held(self, condition: str, min_hours: int | None, municipality: str) -> Held:
        """The days up to today on which the condition held (see `Held`)."""
        key = (condition, min_hours, municipality)
        found: Held | None = self._memo.get(key)
        if found is None:
            if condition == _VIRKSOMHEDSFORLOEB:
                found = self._virksomhedsforloeb()
            elif condition == _ORDINARY_HOURS:
                months = self._ordinary_hours(min_hours)
                found = [[], months, months, None]
            else:
                found = self._afklaret(municipality)
            self._memo[key] = found
        return found

    def activity(self, definition: IndicatorDefinition, municipality: str) -> Activity:
        """The days (and months) on which the definition's numerator condition held."""
        condition = definition.condition.value
        # Only afklaret depends on the municipality (a municipality is credited with its
        # own clarifications); the other conditions are one set per citizen.
        where = municipality if condition == _AFKLARET else ""
        held = self.held(condition, definition.min_hours, where)
        today = self.today_ordinal
        whole = [
            (first_ordinal(a), min(last_ordinal(b), today))
            for a, b in mask_runs(held[WHOLE], self.today_month)
        ]
        months = mask_runs(held[MONTHS], self.today_month)
        return Activity(IntervalSet(held[SPANS] + whole), IntervalSet(months))

    def _reports(self) -> list[tuple[int, Any, MonthHours]]:
        """(month, hours, report) of the hours reports up to today's month."""
        found: list[tuple[int, Any, MonthHours]] | None = self._memo.get("reports")
        if found is None:
            found = self._memo["reports"] = []
            today_month = self.today_month
            for report in self._state.ordinary_hours:
                month = (PERIOD_SPANS.get(report.month) or period_span(report.month))[0]
                if month <= today_month:
                    found.append((month, report.hours, report))
        return found

    def _virksomhedsforloeb(self) -> Held:
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
        whole = 0
        for month, hours, _ in self._reports():
            if hours > 0:
                whole |= 1 << (today_month - month)
        return [spans, whole, months | whole, None]

    def _ordinary_hours(self, min_hours: int | None) -> int:
        """Mask of the months with enough hours, not at a subsidy's employer."""
        subsidised: list[TilbudSpell] | None = None
        months = 0
        today_month = self.today_month
        for month, hours, report in self._reports():
            if not (hours > 0 if min_hours is None else hours >= min_hours):
                continue
            if report.cvr:
                if subsidised is None:
                    subsidised = [
                        t for t in self._state.tilbud if t.kind in SUBSIDISED_KINDS and t.cvr
                    ]
                if any(
                    t.cvr == report.cvr
                    and t.start <= last_day(month)
                    and (t.end is None or t.end >= first_day(month))
                    for t in subsidised
                ):
                    continue
            months |= 1 << (today_month - month)
        return months

    def _afklaret(self, municipality: str) -> Held:
        today, today_month = self.today_ordinal, self.today_month
        spans = []
        mask = 0
        for a in self._state.afklaret:
            if a.municipality == municipality:
                day = a.on.toordinal()
                if day <= today:
                    spans.append((day, day))
                    mask |= 1 << (today_month - ordinal_month(day))
        return [spans, 0, mask, None]


def window_ends(held: Held, window: int) -> int:
    """Mask of the months whose window of `window` months (ending with them) has a held
    month."""
    windows: dict[int, int] | None = held[WINDOWS]
    if windows is None:
        windows = held[WINDOWS] = {}
    found = windows.get(window)
    if found is None:
        # A held month makes itself and the window - 1 months after it window ends; later
        # months are lower bits. A window of no months has no held month.
        months = found = held[MONTHS]
        for shift in range(1, window):
            found |= months >> shift
        if window < 1:
            found = 0
        windows[window] = found
    return found


def held_in_month(held: Held, first: int, last: int, bit: int) -> bool:
    """Whether a held day lies in [first, last], days of the one month of mask bit `bit`."""
    if held[WHOLE] >> bit & 1:
        return True
    for start, end in held[SPANS]:
        if start <= last and end >= first:
            return True
    return False


def mask_runs(mask: int, today_month: int) -> Runs:
    """The months of a month mask (bit i = month today_month - i) as runs, latest first."""
    runs = []
    while mask:
        low = mask & -mask  # the lowest bit of the lowest run of set bits
        above = mask + low  # that run cleared by the carry, which sets the bit above it
        high = above & -above
        runs.append((today_month - high.bit_length() + 2, today_month - low.bit_length() + 1))
        mask = above ^ high
    return runs
