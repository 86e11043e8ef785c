"""One citizen's state, folded from their events: the facts every indicator reads.

`fold` is the only way to build a CitizenState. It is pure and total over a citizen's
event list in any arrival order (see `effective.py` for duplicates, retractions and
ordering), so the stream processor and the batch recompute fold the same list to the same
state. Dates follow domain.md §3: starts are the first day, `*_ended` the last day
(inclusive), `afklaret` and `relocated` the first day no longer belonging.

The live service keeps about a million of these in memory (target ≤ 250 MB per million
citizens), so the state is tuples of slotted records, and strings and dates that recur
across citizens (municipality codes, kinds, months, days) are shared, not copied.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from kommunepuls.domain.effective import effective_events
from kommunepuls.domain.records import StoredEvent

FSM = "flere_skal_med"

EndReason = Literal["replaced", "ended", "afklaret", "relocated"]

_ONE_DAY = timedelta(days=1)
# Days recur across citizens (everyone visited on 2018-11-01); sharing one date object per
# calendar day saves 32 bytes per stored date. Bounded by the number of distinct days.
_DAYS: dict[date, date] = {}


def _day(value: date) -> date:
    return _DAYS.setdefault(value, value)


def _parse_day(value: Any, default: date) -> date:
    if isinstance(value, str):
        return _day(date.fromisoformat(value))
    return default


def _name(value: Any) -> str | None:
    return sys.intern(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Membership:
    """A stretch of programme membership with one group in one municipality."""

    programme: str
    municipality: str
    group: int | None
    target_group: str | None
    start: date
    end: date | None  # last day, inclusive; None = open until now
    end_reason: EndReason | None


@dataclass(frozen=True, slots=True)
class TilbudSpell:
    tilbud_id: str
    kind: str
    start: date
    end: date | None  # last day, inclusive; None = open until now
    cvr: str | None


@dataclass(frozen=True, slots=True)
class Interval:
    start: date
    end: date | None  # last day, inclusive; None = open until now


@dataclass(frozen=True, slots=True)
class SicknessSpell:
    start: date  # first sick day
    end: date | None  # last sick day (the day before fit_from); None = still sick
    partial: bool


@dataclass(frozen=True, slots=True)
class CvrSpell:
    cvr: str
    start: date
    end: date | None  # cvr_ceased day, taken as the business's last day


@dataclass(frozen=True, slots=True)
class MonthHours:
    month: str  # YYYY-MM
    hours: float
    cvr: str | None


@dataclass(frozen=True, slots=True)
class CaseworkerAssignment:
    since: date
    caseworker_id: str


@dataclass(frozen=True, slots=True)
class Afklaret:
    on: date  # first day no longer in the cohort
    outcome: str | None
    municipality: str


@dataclass(frozen=True, slots=True)
class Relocation:
    on: date  # moving day: first day in the new municipality
    from_municipality: str
    to_municipality: str


@dataclass(frozen=True, slots=True)
class CitizenState:
    citizen_id: str
    events_through: int  # highest position folded in (retractions and duplicates included)
    memberships: tuple[Membership, ...]  # by start
    exemptions: tuple[Interval, ...]  # by start
    tilbud: tuple[TilbudSpell, ...]  # by start
    ordinary_hours: tuple[MonthHours, ...]  # by month, one per month
    cvr_registrations: tuple[CvrSpell, ...]
    sickness: tuple[SicknessSpell, ...]
    caseworkers: tuple[CaseworkerAssignment, ...]  # by date; the last is the current owner
    afklaret: tuple[Afklaret, ...]
    relocations: tuple[Relocation, ...]

    def caseworker_on(self, day: date) -> str | None:
        owner = None
        for assignment in self.caseworkers:
            if assignment.since > day:
                break
            owner = assignment.caseworker_id
        return owner


class _Builder:
    """Mutable scratch space for one fold; frozen into a CitizenState at the end."""

    def __init__(self) -> None:
        self.open_memberships: dict[str, Membership] = {}
        self.memberships: list[Membership] = []
        self.open_exemption: date | None = None
        self.exemptions: list[Interval] = []
        self.tilbud_starts: dict[str, tuple[date, str, str | None]] = {}
        self.tilbud_ends: dict[str, date] = {}
        self.hours: dict[str, MonthHours] = {}
        self.open_cvr: dict[str, date] = {}
        self.cvr: list[CvrSpell] = []
        self.open_sickness: tuple[date, bool] | None = None
        self.sickness: list[SicknessSpell] = []
        self.caseworkers: list[CaseworkerAssignment] = []
        self.afklaret: list[Afklaret] = []
        self.relocations: list[Relocation] = []

    def apply(self, event: StoredEvent) -> None:
        day = _day(event.occurred_at)
        data = event.data
        match event.type:
            case "visitation":
                self._visit(event, day)
            case "visitation_ended":
                self._close(str(data["programme"]), day, "ended")
            case "afklaret":
                for programme in list(self.open_memberships):
                    self._close(programme, day - _ONE_DAY, "afklaret")
                municipality = sys.intern(event.municipality)
                self.afklaret.append(Afklaret(day, _name(data.get("outcome")), municipality))
            case "relocated":
                self._relocate(event, day)
            case "caseworker_assigned":
                caseworker = sys.intern(str(data["caseworker_id"]))
                if not self.caseworkers or self.caseworkers[-1].caseworker_id != caseworker:
                    self.caseworkers.append(CaseworkerAssignment(day, caseworker))
            case "tilbud_started":
                # One spell per tilbud_id; a later start for the same id is a correction.
                kind = sys.intern(str(data["kind"]))
                self.tilbud_starts[str(data["tilbud_id"])] = (day, kind, _name(data.get("cvr")))
            case "tilbud_ended":
                self.tilbud_ends[str(data["tilbud_id"])] = day
            case "ordinary_hours":
                # Applied in (occurred_at, position) order, so the report that wins is the
                # one reported last, and among same-day reports the one recorded last.
                month = sys.intern(str(data["month"]))
                self.hours[month] = MonthHours(month, data["hours"], _name(data.get("cvr")))
            case "exemption_started":
                if self.open_exemption is None:
                    self.open_exemption = day
            case "exemption_ended":
                if self.open_exemption is not None:
                    self.exemptions.append(Interval(self.open_exemption, day))
                    self.open_exemption = None
            case "cvr_registered":
                self.open_cvr.setdefault(str(data["cvr"]), day)
            case "cvr_ceased":
                cvr = str(data["cvr"])
                started = self.open_cvr.pop(cvr, None)
                if started is not None:
                    self.cvr.append(CvrSpell(cvr, started, day))
            case "sygemelding":
                if self.open_sickness is None:
                    first = _parse_day(data.get("first_sick_day"), day)
                    self.open_sickness = (first, bool(data.get("partial", False)))
            case "raskmelding":
                if self.open_sickness is not None:
                    first, partial = self.open_sickness
                    last = _parse_day(data.get("fit_from"), day) - _ONE_DAY
                    if last >= first:
                        self.sickness.append(SicknessSpell(first, _day(last), partial))
                    self.open_sickness = None
            case _:
                # samtale and types this core does not read yet leave the state unchanged.
                pass

    def _visit(self, event: StoredEvent, day: date) -> None:
        data = event.data
        programme = sys.intern(str(data["programme"]))
        group = data.get("group")
        new = Membership(
            programme=programme,
            municipality=sys.intern(event.municipality),
            group=None if group is None else int(group),
            target_group=_name(data.get("target_group")),
            start=day,
            end=None,
            end_reason=None,
        )
        current = self.open_memberships.get(programme)
        if current is not None:
            if (current.municipality, current.group, current.target_group) == (
                new.municipality,
                new.group,
                new.target_group,
            ):
                return  # a re-sent marking changes nothing; keep the original start
            self._close(programme, day - _ONE_DAY, "replaced")
        self.open_memberships[programme] = new

    def _relocate(self, event: StoredEvent, day: date) -> None:
        destination = sys.intern(str(event.data["to_municipality"]))
        # Membership belongs to a municipality: moving ends every membership held anywhere
        # but the destination, whichever municipality sent the event.
        for programme, membership in list(self.open_memberships.items()):
            if membership.municipality != destination:
                self._close(programme, day - _ONE_DAY, "relocated")
        origin = sys.intern(event.municipality)
        self.relocations.append(Relocation(day, origin, destination))

    def _close(self, programme: str, last: date, reason: EndReason) -> None:
        membership = self.open_memberships.pop(programme, None)
        if membership is None:
            return
        # A membership that ends before it starts (visited and afklaret the same day, or
        # re-visited the same day) never held on any day, so it is not kept.
        if last >= membership.start:
            self.memberships.append(_ended(membership, _day(last), reason))

    def freeze(self, citizen_id: str, events_through: int) -> CitizenState:
        memberships = self.memberships + list(self.open_memberships.values())
        exemptions = list(self.exemptions)
        if self.open_exemption is not None:
            exemptions.append(Interval(self.open_exemption, None))
        cvr = self.cvr + [CvrSpell(c, d, None) for c, d in self.open_cvr.items()]
        sickness = list(self.sickness)
        if self.open_sickness is not None:
            sickness.append(SicknessSpell(self.open_sickness[0], None, self.open_sickness[1]))
        return CitizenState(
            citizen_id=citizen_id,
            events_through=events_through,
            memberships=tuple(sorted(memberships, key=lambda m: m.start)),
            exemptions=tuple(exemptions),
            tilbud=self._tilbud_spells(),
            ordinary_hours=tuple(self.hours[m] for m in sorted(self.hours)),
            cvr_registrations=tuple(sorted(cvr, key=lambda c: c.start)),
            sickness=tuple(sickness),
            caseworkers=tuple(self.caseworkers),
            afklaret=tuple(self.afklaret),
            relocations=tuple(self.relocations),
        )

    def _tilbud_spells(self) -> tuple[TilbudSpell, ...]:
        spells = []
        for tilbud_id, (start, kind, cvr) in self.tilbud_starts.items():
            end = self.tilbud_ends.get(tilbud_id)
            # Like the evaluator (seeds/004 L3971), a spell ending before it starts is
            # dropped as meaningless. An end without a start waits for its start.
            if end is not None and end < start:
                continue
            spells.append(TilbudSpell(tilbud_id, kind, start, end, cvr))
        spells.sort(key=lambda s: (s.start, s.tilbud_id))
        return tuple(spells)


def _ended(membership: Membership, last: date, reason: EndReason) -> Membership:
    return Membership(
        programme=membership.programme,
        municipality=membership.municipality,
        group=membership.group,
        target_group=membership.target_group,
        start=membership.start,
        end=last,
        end_reason=reason,
    )


def fold(events: Iterable[StoredEvent]) -> CitizenState:
    """Fold one citizen's events (any order, duplicates and retractions allowed)."""
    events = list(events)
    citizen_ids = {e.citizen_id for e in events}
    if len(citizen_ids) > 1:
        raise ValueError("fold() takes the events of one citizen")
    builder = _Builder()
    for event in effective_events(events):
        builder.apply(event)
    return builder.freeze(
        citizen_id=citizen_ids.pop() if citizen_ids else "",
        events_through=max((e.position for e in events), default=0),
    )
