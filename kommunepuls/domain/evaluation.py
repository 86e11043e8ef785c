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
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from functools import cache
from typing import Literal, NamedTuple

from kommunepuls.domain.catalogue import CATALOGUE, IndicatorDefinition, Population
from kommunepuls.domain.citizen import CitizenState, fold
from kommunepuls.domain.citizen_view import CitizenView
from kommunepuls.domain.periods import first_ordinal, last_ordinal, month_index, period_label
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

# A citizen yields hundreds of cells; building them as plain tuples typed Cell skips the
# NamedTuple constructor's Python-level call (a third of the engine's time otherwise).
_tuple_new = tuple.__new__

_ALWAYS = 10**6  # a month index beyond any date


@cache
def curve_period(month_since_visitation: int) -> str:
    return f"m{month_since_visitation:02d}"


def _valid_months(definition: IndicatorDefinition) -> tuple[int, int]:
    last = _ALWAYS if definition.valid_to is None else month_index(definition.valid_to)
    return month_index(definition.valid_from), last


def _members(definition: IndicatorDefinition, view: CitizenView, out: list[Cell]) -> None:
    """Denominator: members on the reference day; numerator: condition in the window."""
    lo, hi = _valid_months(definition)
    window = definition.window_months or 1
    name = definition.id
    # Activity is clipped at today, so "a day in [window start, reference day]" is "an
    # active month in the window": one set lookup per month.
    window_ends: dict[str, frozenset[int]] = {}
    for month, period, municipality, group in view.member_months(definition):
        if month < lo or month > hi:
            continue
        out.append(_tuple_new(Cell, (name, municipality, period, group, DENOMINATOR)))
        active = window_ends.get(municipality)
        if active is None:
            active = view.activity(definition, municipality).window_ends(window)
            window_ends[municipality] = active
        if month in active:
            out.append(_tuple_new(Cell, (name, municipality, period, group, NUMERATOR)))


def _ever_visited(definition: IndicatorDefinition, view: CitizenView, out: list[Cell]) -> None:
    """Denominator: ever visited by the reference day; numerator: condition since then."""
    lo, hi = _valid_months(definition)
    name = definition.id
    for (municipality, group), visited in view.cohorts(definition).items():
        hit = view.activity(definition, municipality).days.first_on_or_after(visited)
        # The first hit is on or before today, so it is on or before the reference day of
        # every month from its own month on.
        hit_month = _ALWAYS if hit is None else month_index(date.fromordinal(hit))
        first = max(month_index(date.fromordinal(visited)), lo)
        for month in range(first, min(view.today_month, hi) + 1):
            period = period_label(month)
            out.append(_tuple_new(Cell, (name, municipality, period, group, DENOMINATOR)))
            if month >= hit_month:
                out.append(_tuple_new(Cell, (name, municipality, period, group, NUMERATOR)))


def _months_since_visitation(
    definition: IndicatorDefinition, view: CitizenView, out: list[Cell]
) -> None:
    """Cohort curve: month m since visitation, censored by moving and by unfinished months."""
    lo, hi = _valid_months(definition)
    name = definition.id
    for (municipality, group), visited in view.cohorts(definition).items():
        visitation_month = month_index(date.fromordinal(visited))
        if not lo <= visitation_month <= hi:
            continue
        moved = view.moved_away(municipality, visited)
        censored_from = _ALWAYS if moved is None else month_index(date.fromordinal(moved))
        activity = view.activity(definition, municipality)
        for m in range(1, (definition.window_months or 0) + 1):
            month = visitation_month + m - 1
            if last_ordinal(month) >= view.today_ordinal or month >= censored_from:
                break  # month m has not ended yet, or the citizen has moved away
            period = curve_period(m)
            out.append(_tuple_new(Cell, (name, municipality, period, group, DENOMINATOR)))
            if m == 1:
                # Month 1 counts from the visitation day, not from the 1st.
                active = activity.days.overlaps(
                    max(visited, first_ordinal(month)), last_ordinal(month)
                )
            else:
                active = month in activity.months
            if active:
                out.append(_tuple_new(Cell, (name, municipality, period, group, NUMERATOR)))


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
    for definition in catalogue:
        _POPULATIONS[definition.population](definition, view, cells)
    return frozenset(cells)


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
