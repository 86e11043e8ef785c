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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from operator import attrgetter
from typing import Any, Literal, TypeVar

from kommunepuls.domain.effective import effective_parts, fold_plan
from kommunepuls.domain.event_data import EventType
from kommunepuls.domain.records import StoredEvent

FSM = "flere_skal_med"

_R = TypeVar("_R")

EndReason = Literal["replaced", "ended", "afklaret", "relocated"]

_ONE_DAY = timedelta(days=1)
# Days recur across citizens (everyone visited on 2018-11-01); sharing one date object per
# calendar day saves 32 bytes per stored date. Bounded by the number of distinct days.
_DAYS: dict[date, date] = {}
_intern = sys.intern


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


def _constructor(cls: type[_R]) -> Callable[..., _R]:
    """A positional constructor for a frozen, slotted dataclass, about 3x cheaper.

    A frozen dataclass's __init__ sets each field through object.__setattr__ by name, and
    the fold makes a few dozen records per citizen on every event of the stream. Here a
    record is made as an instance of a twin class with the same slots but no frozen
    __setattr__, its fields set as plain slot stores, and then given its real class: the
    layouts are the same, so CPython allows the __class__ assignment, and the result is
    exactly `cls(*values)` for these records (no defaults, no __post_init__; checked
    below, and by the engine's equivalence tests).
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    twin = type(f"_{cls.__name__}Draft", (), {"__slots__": tuple(names)})
    namespace: dict[str, Any] = {"new": object.__new__, "twin": twin, "cls": cls}
    body = "".join(f"    record.{name} = {name}\n" for name in names)
    source = (
        f"def make({', '.join(names)}):\n    record = new(twin)\n{body}"
        "    record.__class__ = cls\n    return record\n"
    )
    exec(source, namespace)
    make: Callable[..., _R] = namespace["make"]
    sample = tuple(range(len(names)))
    try:
        made = make(*sample)
    except TypeError:  # an interpreter that refuses the __class__ assignment
        return cls
    if type(made) is not cls or made != cls(*sample) or repr(made) != repr(cls(*sample)):
        return cls
    return make


_new_membership = _constructor(Membership)
_new_tilbud = _constructor(TilbudSpell)
_new_interval = _constructor(Interval)
_new_sickness = _constructor(SicknessSpell)
_new_cvr = _constructor(CvrSpell)
_new_hours = _constructor(MonthHours)
_new_caseworker = _constructor(CaseworkerAssignment)
_new_afklaret = _constructor(Afklaret)
_new_relocation = _constructor(Relocation)
_new_state = _constructor(CitizenState)

# Facts of different kinds change different parts of the state (a tilbud never closes a
# membership, an hours report never ends an exemption), so each part is folded from its
# own kinds alone, in fold order: the same state as applying every fact in fold order, in
# a tight loop per part instead of a dispatch per event. Types not here (samtale, and
# types this core does not read yet) leave the state unchanged.
_MEMBERSHIP, _CASEWORKER, _TILBUD, _HOURS, _EXEMPTION, _CVR, _SICKNESS = range(7)
_PART_OF: dict[str, int] = {
    "visitation": _MEMBERSHIP,
    "visitation_ended": _MEMBERSHIP,
    "afklaret": _MEMBERSHIP,
    "relocated": _MEMBERSHIP,
    "caseworker_assigned": _CASEWORKER,
    "tilbud_started": _TILBUD,
    "tilbud_ended": _TILBUD,
    "ordinary_hours": _HOURS,
    "exemption_started": _EXEMPTION,
    "exemption_ended": _EXEMPTION,
    "cvr_registered": _CVR,
    "cvr_ceased": _CVR,
    "sygemelding": _SICKNESS,
    "raskmelding": _SICKNESS,
}
_PLAN = fold_plan(_PART_OF)
# Types no part of the state reads (samtale: two thirds of all events): the cohorts worker
# reads histories without them, through migration 0007's partial index (test_query_plans).
UNREAD_TYPES = frozenset({t.value for t in EventType} - _PLAN.keys())


def fold(events: Iterable[StoredEvent]) -> CitizenState:
    """Fold one citizen's events (any order, duplicates and retractions allowed)."""
    events = list(events)
    citizen_id = events[0].citizen_id if events else ""
    # The highest position folded in, retractions and duplicates included.
    through = events[0].position if events else 0
    for event in events:
        if event.citizen_id != citizen_id:
            raise ValueError("fold() takes the events of one citizen")
        if event.position > through:
            through = event.position
    members, caseworkers, tilbud, hours, exemptions, cvr, sickness = effective_parts(
        events, _PLAN, 7
    )
    memberships, afklaret, relocations = _memberships(members) if members else ((), (), ())
    return _new_state(
        citizen_id,
        through,
        memberships,
        _exemptions(exemptions) if exemptions else (),
        _tilbud(tilbud) if tilbud else (),
        _hours(hours) if hours else (),
        _cvr(cvr) if cvr else (),
        _sickness(sickness) if sickness else (),
        _caseworkers(caseworkers) if caseworkers else (),
        afklaret,
        relocations,
    )


# An open membership, kept as a plain tuple until it ends: (programme, municipality,
# group, target_group, start). Memberships are made once, when their end is known.
_Open = tuple[str, str, int | None, str | None, date]


def _memberships(
    events: list[StoredEvent],
) -> tuple[tuple[Membership, ...], tuple[Afklaret, ...], tuple[Relocation, ...]]:
    open_: dict[str, _Open] = {}  # by programme
    ended: list[Membership] = []
    afklaret: list[Afklaret] = []
    relocations: list[Relocation] = []

    def close(programme: str, last: date, reason: EndReason) -> None:
        membership = open_.pop(programme, None)
        # A membership that ends before it starts (visited and afklaret the same day, or
        # re-visited the same day) never held on any day, so it is not kept.
        if membership is not None and last >= membership[4]:
            ended.append(_new_membership(*membership, _day(last), reason))

    for event in events:
        data = event.data
        kind = event.type
        if kind == "visitation":
            programme = _intern(str(data["programme"]))
            group = data.get("group")
            group = None if group is None else int(group)
            municipality = _intern(event.municipality)
            target_group = _name(data.get("target_group"))
            day = _day(event.occurred_at)
            current = open_.get(programme)
            if current is not None:
                if current[1:4] == (municipality, group, target_group):
                    continue  # a re-sent marking changes nothing; keep the original start
                close(programme, day - _ONE_DAY, "replaced")
            open_[programme] = (programme, municipality, group, target_group, day)
        elif kind == "visitation_ended":
            close(str(data["programme"]), event.occurred_at, "ended")
        elif kind == "afklaret":
            day = _day(event.occurred_at)
            for programme in list(open_):
                close(programme, day - _ONE_DAY, "afklaret")
            municipality = _intern(event.municipality)
            afklaret.append(_new_afklaret(day, _name(data.get("outcome")), municipality))
        else:  # relocated
            day = _day(event.occurred_at)
            destination = _intern(str(data["to_municipality"]))
            # Membership belongs to a municipality: moving ends every membership held
            # anywhere but the destination, whichever municipality sent the event.
            for programme, membership in list(open_.items()):
                if membership[1] != destination:
                    close(programme, day - _ONE_DAY, "relocated")
            origin = _intern(event.municipality)
            relocations.append(_new_relocation(day, origin, destination))
    memberships = ended + [_new_membership(*m, None, None) for m in open_.values()]
    return tuple(sorted(memberships, key=_START)), tuple(afklaret), tuple(relocations)


def _caseworkers(events: list[StoredEvent]) -> tuple[CaseworkerAssignment, ...]:
    found: list[CaseworkerAssignment] = []
    for event in events:
        caseworker = _intern(str(event.data["caseworker_id"]))
        if not found or found[-1].caseworker_id != caseworker:
            found.append(_new_caseworker(_day(event.occurred_at), caseworker))
    return tuple(found)


def _tilbud(events: list[StoredEvent]) -> tuple[TilbudSpell, ...]:
    # One spell per tilbud_id; a later start (or end) for the same id is a correction.
    starts: dict[str, tuple[date, str, str | None]] = {}
    ends: dict[str, date] = {}
    for event in events:
        data = event.data
        day = _DAYS.setdefault(event.occurred_at, event.occurred_at)
        if event.type == "tilbud_started":
            cvr = data.get("cvr")
            cvr = _intern(cvr) if isinstance(cvr, str) else None
            starts[str(data["tilbud_id"])] = (day, _intern(str(data["kind"])), cvr)
        else:
            ends[str(data["tilbud_id"])] = day
    spells = []
    for tilbud_id, (start, kind, cvr) in starts.items():
        end = ends.get(tilbud_id)
        # Like the evaluator (seeds/004 L3971), a spell ending before it starts is
        # dropped as meaningless. An end without a start waits for its start.
        if end is None or end >= start:
            spells.append((start, tilbud_id, kind, end, cvr))
    spells.sort()  # by (start, tilbud_id), unique: the rest is never compared
    return tuple(_new_tilbud(t, k, s, e, c) for s, t, k, e, c in spells)


def _hours(events: list[StoredEvent]) -> tuple[MonthHours, ...]:
    # In fold order, so the report that wins is the one reported last, and among
    # same-day reports the one recorded last.
    reports: dict[str, tuple[Any, str | None]] = {}
    for event in events:
        data = event.data
        cvr = data.get("cvr")
        cvr = _intern(cvr) if isinstance(cvr, str) else None
        reports[_intern(str(data["month"]))] = (data["hours"], cvr)
    return tuple([_new_hours(month, hours, cvr) for month, (hours, cvr) in sorted(reports.items())])


def _exemptions(events: list[StoredEvent]) -> tuple[Interval, ...]:
    found: list[Interval] = []
    started: date | None = None
    for event in events:
        if event.type == "exemption_started":
            if started is None:
                started = _day(event.occurred_at)
        elif started is not None:
            found.append(_new_interval(started, _day(event.occurred_at)))
            started = None
    if started is not None:
        found.append(_new_interval(started, None))
    return tuple(found)


def _cvr(events: list[StoredEvent]) -> tuple[CvrSpell, ...]:
    registered: dict[str, date] = {}
    ceased: list[CvrSpell] = []
    for event in events:
        cvr = str(event.data["cvr"])
        if event.type == "cvr_registered":
            registered.setdefault(cvr, _day(event.occurred_at))
        else:
            started = registered.pop(cvr, None)
            if started is not None:
                ceased.append(_new_cvr(cvr, started, _day(event.occurred_at)))
    spells = ceased + [_new_cvr(cvr, day, None) for cvr, day in registered.items()]
    return tuple(sorted(spells, key=_START))


def _sickness(events: list[StoredEvent]) -> tuple[SicknessSpell, ...]:
    found: list[SicknessSpell] = []
    sick: tuple[date, bool] | None = None
    for event in events:
        data = event.data
        if event.type == "sygemelding":
            if sick is None:
                first = _parse_day(data.get("first_sick_day"), _day(event.occurred_at))
                sick = (first, bool(data.get("partial", False)))
        elif sick is not None:
            first, partial = sick
            last = _parse_day(data.get("fit_from"), _day(event.occurred_at)) - _ONE_DAY
            if last >= first:
                found.append(_new_sickness(first, _day(last), partial))
            sick = None
    if sick is not None:
        found.append(_new_sickness(sick[0], None, sick[1]))
    return tuple(found)


_START = attrgetter("start")
