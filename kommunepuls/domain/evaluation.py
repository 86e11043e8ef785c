"""The indicator engine: which indicator cells one citizen counts in, and their sums.

`contributions(state, today)` is the whole rule book applied to one citizen. The stream
processor computes a citizen's contributions before and after a change (new events, or a
new day) and emits the difference (+1 / -1 per cell); the batch recompute sums
contributions over all citizens. Both therefore agree by construction, and "why is
Aalborg at 43 % in March?" is answered by listing the citizens whose contributions hold
Aalborg's March cells.

For the unfinished current month everything is evaluated "as of today": the reference day
is min(window's last day, today) and spells open "until now" are open until today. Facts
dated after today (a tilbud planned for next month) do not count yet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from datetime import date, datetime
from functools import cache
from typing import Literal, NamedTuple, TypeVar

from kommunepuls.domain.catalogue import CATALOGUE, Condition, IndicatorDefinition, Population
from kommunepuls.domain.citizen import CitizenState, fold
from kommunepuls.domain.citizen_view import (
    MONTHS,
    CitizenView,
    Held,
    held_in_month,
    mask_runs,
    window_ends,
)
from kommunepuls.domain.periods import (
    MONTH_OF_ORDINAL,
    last_ordinal,
    month_index,
    ordinal_month,
    period_label,
)
from kommunepuls.domain.records import StoredEvent

Part = Literal["numerator", "denominator"]
NUMERATOR: Part = "numerator"
DENOMINATOR: Part = "denominator"


class Cell(NamedTuple):
    """One count one citizen contributes to: an indicator's numerator or denominator."""

    indicator: str
    municipality: str
    period: str  # YYYY-MM; for cohort curves "m01".."m29"
    group: int | None
    part: Part


class CountKey(NamedTuple):
    indicator: str
    municipality: str
    period: str
    group: int | None


class Count(NamedTuple):
    numerator: int
    denominator: int


Counts = dict[CountKey, Count]
E = TypeVar("E", bound=Hashable)

_ALWAYS = 10**6  # a month index beyond any date

# A citizen yields hundreds of cells, and the same cells recur across citizens (everyone in
# Aalborg's group 1 counts in Aalborg's March denominator). So cells are made once, kept in
# rows of consecutive periods per (indicator, municipality, group), and a citizen's runs of
# months become slices of those rows: no per-cell construction, and the cells a million
# citizens hold are shared objects. A row is a (denominators, numerators) pair of tuples
# replaced whole when it grows, so a reader never sees the two out of step. Bounded by
# indicators x municipalities x groups x periods.
_Row = tuple[tuple[Cell, ...], tuple[Cell, ...]]
_ROW_SLACK = 12  # months made beyond the one asked for, so rows grow rarely
_tuple_new = tuple.__new__  # Cells as plain tuples typed Cell: skips the Python-level constructor


@cache
def curve_period(month_since_visitation: int) -> str:
    return f"m{month_since_visitation:02d}"


class _Plan:
    """What the engine reads of one definition, worked out once, and its rows of cells."""

    __slots__ = (
        "by_municipality",
        "condition",
        "definition",
        "encode",
        "fill",
        "groups",
        "hi",
        "lo",
        "min_hours",
        "months",
        "name",
        "programme",
        "rows",
        "window",
    )

    def __init__(self, definition: IndicatorDefinition,
                 encode: Callable[[Cell], Hashable] | None = None) -> None:
        self.definition = definition
        self.encode = encode  # what the rows hold: Cells (None) or encode(cell)
        self.fill = _POPULATIONS[definition.population]
        self.name = definition.id
        self.programme = definition.programme
        self.groups = definition.groups
        self.lo = month_index(definition.valid_from)
        self.hi = _ALWAYS if definition.valid_to is None else month_index(definition.valid_to)
        self.condition = definition.condition.value
        self.min_hours = definition.min_hours
        # Only afklaret depends on the municipality (a municipality is credited with its
        # own clarifications); the other conditions are one set per citizen.
        self.by_municipality = definition.condition is Condition.AFKLARET
        # MEMBERS: the window (at least the period month); curve: the last month m.
        self.window = definition.window_months or 1
        self.months = definition.window_months or 0
        self.rows: dict[tuple[str, int | None], _Row] = {}

    def month_row(self, municipality: str, group: int | None, last: int) -> _Row:
        """Cells of the months lo, lo + 1, ... through at least `last` (index: month - lo)."""
        row = self.rows.get((municipality, group))
        if row is None or len(row[0]) <= last - self.lo:
            periods = map(period_label, range(self.lo, last + _ROW_SLACK + 1))
            row = self.rows[municipality, group] = self._cells(municipality, group, periods)
        return row

    def curve_row(self, municipality: str, group: int | None) -> _Row:
        """Cells of the months since visitation 1..months (index: m - 1)."""
        row = self.rows.get((municipality, group))
        if row is None:
            periods = map(curve_period, range(1, self.months + 1))
            row = self.rows[municipality, group] = self._cells(municipality, group, periods)
        return row

    def _cells(self, municipality: str, group: int | None, periods: Iterable[str]) -> _Row:
        name = self.name
        den = tuple(_tuple_new(Cell, (name, municipality, p, group, DENOMINATOR)) for p in periods)
        num = tuple(_tuple_new(Cell, (name, municipality, c[2], group, NUMERATOR)) for c in den)
        if self.encode is not None:
            return tuple(map(self.encode, den)), tuple(map(self.encode, num))  # type: ignore[arg-type]
        return den, num


# Plans by definition identity (definitions are frozen, and hashing one hashes every field),
# and the plans of a catalogue (a tuple, as the default and evaluate() pass) by its identity.
# Each also by encoder: a plan's rows hold either Cells or one encoding of them.
_Encode = Callable[[Cell], Hashable] | None
_PLANS: dict[tuple[int, _Encode], _Plan] = {}
_CATALOGUES: dict[tuple[int, _Encode],
                  tuple[tuple[IndicatorDefinition, ...], tuple[_Plan, ...]]] = {}


def _plan(definition: IndicatorDefinition, encode: _Encode = None) -> _Plan:
    plan = _PLANS.get((id(definition), encode))
    if plan is None or plan.definition is not definition:
        if len(_PLANS) > 1000:  # definitions made on the fly: keep the cache bounded
            _PLANS.clear()
        plan = _PLANS[id(definition), encode] = _Plan(definition, encode)
    return plan


def _plans(catalogue: Iterable[IndicatorDefinition], encode: _Encode = None
           ) -> tuple[_Plan, ...]:
    if not isinstance(catalogue, tuple):
        return tuple(_plan(d, encode) for d in catalogue)
    found = _CATALOGUES.get((id(catalogue), encode))
    if found is None or found[0] is not catalogue:
        if len(_CATALOGUES) > 100:
            _CATALOGUES.clear()
        found = _CATALOGUES[id(catalogue), encode] = (
            catalogue, tuple(_plan(d, encode) for d in catalogue))
    return found[1]


def _held(plan: _Plan, view: CitizenView, municipality: str) -> Held:
    # Only afklaret depends on the municipality (a municipality is credited with its own
    # clarifications); the other conditions are one set per citizen.
    return view.held(plan.condition, plan.min_hours, municipality if plan.by_municipality else "")


def _members(plan: _Plan, view: CitizenView, out: list[Cell]) -> None:
    """Denominator: members on the reference day; numerator: condition in the window."""
    lo, hi, rows, today_month = plan.lo, plan.hi, plan.rows, view.today_month
    # Activity is clipped at today, so "a day in [window start, reference day]" is "an
    # active month in the window": the numerator's months are the member months that end
    # a window with an active month.
    shared = None if plan.by_municipality else window_ends(_held(plan, view, ""), plan.window)
    for municipality, group, first, last in view.member_runs(plan.programme, plan.groups):
        if first < lo:
            first = lo
        if last > hi:
            last = hi
        if first > last:
            continue
        row = rows.get((municipality, group))
        if row is None or len(row[0]) <= last - lo:
            row = plan.month_row(municipality, group, last)
        den, num = row
        out += den[first - lo : last - lo + 1]
        if shared is None:
            ends = window_ends(_held(plan, view, municipality), plan.window)
        else:
            ends = shared
        run = ((1 << (last - first + 1)) - 1) << (today_month - last)
        if ends & run == run:  # the common case: every month of the run
            out += num[first - lo : last - lo + 1]
        elif ends & run:
            for a, b in mask_runs(ends & run, today_month):
                out += num[a - lo : b - lo + 1]


def _ever_visited(plan: _Plan, view: CitizenView, out: list[Cell]) -> None:
    """Denominator: ever visited by the reference day; numerator: condition since then."""
    lo, rows, today_month = plan.lo, plan.rows, view.today_month
    last = min(today_month, plan.hi)
    held = None if plan.by_municipality else _held(plan, view, "")
    for municipality, group, visited in view.cohorts(plan.programme, plan.groups):
        visitation_month = MONTH_OF_ORDINAL.get(visited) or ordinal_month(visited)
        first = lo if visitation_month < lo else visitation_month
        if first > last:
            continue
        row = rows.get((municipality, group))
        if row is None or len(row[0]) <= last - lo:
            row = plan.month_row(municipality, group, last)
        den, num = row
        out += den[first - lo : last - lo + 1]
        # The numerator counts from the month of the first held day on or after the
        # visitation (on or before today, so on or before the reference day of every
        # month from its own month on): the visitation month if a day of it from the
        # visitation day on is held, or else the first later month with a held day.
        found = held or _held(plan, view, municipality)
        bit = today_month - visitation_month
        if held_in_month(found, visited, last_ordinal(visitation_month), bit):
            hit = visitation_month
        else:
            later = found[MONTHS] & ((1 << bit) - 1)
            if not later:
                continue
            hit = today_month - later.bit_length() + 1
        out += num[(hit if hit > first else first) - lo : last - lo + 1]


def _months_since_visitation(plan: _Plan, view: CitizenView, out: list[Cell]) -> None:
    """Cohort curve: month m since visitation, censored by moving and by unfinished months."""
    today_month = view.today_month
    held = None if plan.by_municipality else _held(plan, view, "")
    for municipality, group, visited in view.cohorts(plan.programme, plan.groups):
        visitation_month = MONTH_OF_ORDINAL.get(visited) or ordinal_month(visited)
        if not plan.lo <= visitation_month <= plan.hi:
            continue
        # Month m (= visitation_month + m - 1) counts while it has ended (it is before
        # today's month) and the citizen has not moved away.
        stop = visitation_month + plan.months
        if stop > today_month:
            stop = today_month
        if stop <= visitation_month:
            continue
        moved = view.moved_away(municipality, visited)
        if moved is not None:
            stop = min(stop, ordinal_month(moved))
            if stop <= visitation_month:
                continue
        den, num = plan.rows.get((municipality, group)) or plan.curve_row(municipality, group)
        out += den[: stop - visitation_month]
        found = held or _held(plan, view, municipality)
        # Month 1 counts from the visitation day, not from the 1st.
        last_of_month = last_ordinal(visitation_month)
        if held_in_month(found, visited, last_of_month, today_month - visitation_month):
            out.append(num[0])
        # Months 2.. (visitation_month + 1 .. stop - 1) count any day of the month.
        later = ((1 << (stop - visitation_month - 1)) - 1) << (today_month - stop + 1)
        active = found[MONTHS] & later
        if active == later:
            out += num[1 : stop - visitation_month]
        elif active:
            for a, b in mask_runs(active, today_month):
                out += num[a - visitation_month : b - visitation_month + 1]


_POPULATIONS = {
    Population.MEMBERS: _members,
    Population.EVER_VISITED: _ever_visited,
    Population.MONTHS_SINCE_VISITATION: _months_since_visitation,
}


def contributions(
    state: CitizenState,
    today: date,
    catalogue: Iterable[IndicatorDefinition] = CATALOGUE,
) -> frozenset[Cell]:
    """Every indicator cell the citizen counts in, for every period up to today's month."""
    view = CitizenView(state, today)
    cells: list[Cell] = []
    if state.memberships:  # every population is made of memberships
        for plan in _plans(catalogue):
            plan.fill(plan, view, cells)
    return frozenset(cells)


def encoded_contributions(
    state: CitizenState,
    today: date,
    encode: Callable[[Cell], E],
    catalogue: Iterable[IndicatorDefinition] = CATALOGUE,
) -> set[E]:
    """`{encode(c) for c in contributions(state, today, catalogue)}`, with each cell encoded
    once per process instead of once per citizen: the plans' rows hold the encoded cells.

    The cohorts worker sends cells packed as ints (kommunepuls/facts.py): hashing a
    citizen's ~200 Cells into a frozenset and then again into the packing cache cost a third
    of contributions and packing together (bench/fold.py's citizens: 155 -> 100 µs).
    `encode` must be a pure function of the cell: its results are kept.
    """
    view = CitizenView(state, today)
    cells: list[E] = []
    if state.memberships:
        for plan in _plans(catalogue, encode):
            plan.fill(plan, view, cells)  # type: ignore[arg-type]
    return set(cells)


def delta(before: frozenset[Cell], after: frozenset[Cell]) -> Iterator[tuple[Cell, int]]:
    """The +1 / -1 changes that turn counts including `before` into counts with `after`."""
    for cell in before - after:
        yield cell, -1
    for cell in after - before:
        yield cell, +1


def tally(cells: Iterable[Cell]) -> Counts:
    """Sum cells (from any number of citizens) into numerator / denominator counts."""
    return tally_totals(Counter(cells))


def tally_totals(totals: Mapping[Cell, int]) -> Counts:
    """Counts from running per-cell totals, as the stream processor keeps them."""
    counts: Counts = {}
    for cell, n in totals.items():
        if cell.part == DENOMINATOR and n:
            key = CountKey(cell.indicator, cell.municipality, cell.period, cell.group)
            counts[key] = Count(totals.get(cell._replace(part=NUMERATOR), 0), n)
    return counts


def evaluate(
    events: Iterable[StoredEvent],
    today: date,
    *,
    as_of: datetime | None = None,
    catalogue: Iterable[IndicatorDefinition] = CATALOGUE,
) -> Counts:
    """Counts for every indicator cell from raw events: fold each citizen, sum contributions.

    `as_of` answers "as known at": events (retractions included) recorded after it are
    left out, so a retraction recorded later does not yet remove its target.
    """
    by_citizen: dict[str, list[StoredEvent]] = {}
    for event in events:
        if as_of is None or event.recorded_at <= as_of:
            by_citizen.setdefault(event.citizen_id, []).append(event)
    definitions = tuple(catalogue)
    return tally(
        cell
        for citizen_events in by_citizen.values()
        for cell in contributions(fold(citizen_events), today, definitions)
    )
