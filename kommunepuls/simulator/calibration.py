"""A plain counter over generated envelopes, to check the simulator against seeds/004.

Deliberately independent of the indicator engine: it is the simulator's own yardstick,
written as directly as possible, so a disagreement with the engine points at one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kommunepuls.simulator.emission import Emission
from kommunepuls.simulator.periods import add_months, last_day, month_index

FAR = date.max
VIRKSOMHEDSFORLOEB_KINDS = frozenset(
    {
        "virksomhedspraktik",
        "loentilskud_privat",
        "loentilskud_offentlig",
        "nytteindsats",
        "ordinaer_uddannelse",
        "fleksjob",
    }
)


@dataclass(slots=True)
class Event:
    type: str
    occurred: date
    municipality: str
    data: dict[str, Any]


@dataclass(slots=True)
class Citizen:
    events: list[Event] = field(default_factory=list)
    visited: date = FAR  # first visitation to group 1, 2 or 3
    group: int = 0
    home: str = ""
    moved: date = FAR  # first relocation away from `home`
    afklaret: date = FAR
    spells: list[tuple[date, date]] = field(default_factory=list)  # virksomhedsforløb kinds
    hours_months: set[int] = field(default_factory=set)  # month_index with hours > 0


def tally(emissions: Iterable[Emission]) -> dict[str, Citizen]:
    """Citizens by CPR, from valid emissions: duplicates once, retracted events left out."""
    seen: dict[str, dict[str, Any]] = {}
    retracted: set[str] = set()
    for e in emissions:
        if not e.valid or e.envelope["event_id"] in seen:
            continue
        seen[e.envelope["event_id"]] = e.envelope
        if e.envelope["type"] == "event_retracted":
            retracted.add(e.envelope["data"]["event_id"])
    citizens: dict[str, Citizen] = {}
    for event_id, env in seen.items():
        if event_id in retracted or env["type"] == "event_retracted":
            continue
        event = Event(
            env["type"], date.fromisoformat(env["occurred_at"]), env["municipality"], env["data"]
        )
        citizens.setdefault(env["cpr"], Citizen()).events.append(event)
    for c in citizens.values():
        _fold(c)
    return citizens


def _fold(c: Citizen) -> None:
    c.events.sort(key=lambda e: e.occurred)
    starts: dict[str, tuple[str, date]] = {}
    ends: dict[str, date] = {}
    for e in c.events:
        if e.type == "visitation" and e.data["group"] in (1, 2, 3) and c.group == 0:
            c.visited, c.group, c.home = e.occurred, e.data["group"], e.municipality
        elif e.type == "relocated" and e.municipality == c.home and c.moved == FAR:
            c.moved = e.occurred
        elif e.type == "afklaret" and c.afklaret == FAR:
            c.afklaret = e.occurred
        elif e.type == "tilbud_started":
            starts[e.data["tilbud_id"]] = (e.data["kind"], e.occurred)
        elif e.type == "tilbud_ended":
            ends[e.data["tilbud_id"]] = e.occurred
        elif e.type == "ordinary_hours":
            # A later report for the month replaces an earlier one; last one wins here.
            y, m = map(int, e.data["month"].split("-"))
            index = month_index(date(y, m, 1))
            if e.data["hours"] > 0:
                c.hours_months.add(index)
            else:
                c.hours_months.discard(index)
    for tilbud_id, (kind, start) in starts.items():
        if kind in VIRKSOMHEDSFORLOEB_KINDS:
            c.spells.append((start, ends.get(tilbud_id, FAR)))


def active_between(c: Citizen, first: date, last: date) -> bool:
    """In virksomhedsforløb mv. on at least one day of [first, last]."""
    if any(s <= last and e >= first for s, e in c.spells):
        return True
    return any(i in c.hours_months for i in range(month_index(first), month_index(last) + 1))


def group_shares(citizens: dict[str, Citizen]) -> dict[int, float]:
    visited = [c for c in citizens.values() if c.group]
    return {g: sum(c.group == g for c in visited) / len(visited) for g in (1, 2, 3)}


def curve(citizens: dict[str, Citizen], groups: set[int], m: int, end: date) -> tuple[int, int]:
    """(in virksomhedsforløb mv., cohort) in month m since visitation (visitation month = 1).

    A citizen counts once the month has ended by `end` and leaves from the month they move.
    """
    num = den = 0
    for c in citizens.values():
        if c.group not in groups:
            continue
        first = add_months(c.visited, m - 1)
        last = last_day(first)
        if last > end or month_index(c.moved) <= month_index(first):
            continue
        den += 1
        num += active_between(c, first, last)
    return num, den


def ever(citizens: dict[str, Citizen], group: int, end: date) -> tuple[int, int]:
    cohort = [c for c in citizens.values() if c.group == group and c.visited <= end]
    return sum(active_between(c, c.visited, end) for c in cohort), len(cohort)


def afklaret(citizens: dict[str, Citizen], group: int, by: date) -> tuple[int, int]:
    cohort = [c for c in citizens.values() if c.group == group and c.visited <= by]
    return sum(c.afklaret <= by for c in cohort), len(cohort)


def ever_hours(citizens: dict[str, Citizen], group: int, end: date) -> tuple[int, int]:
    cohort = [c for c in citizens.values() if c.group == group]
    hit = sum(
        any(month_index(c.visited) <= i <= month_index(end) for i in c.hours_months) for c in cohort
    )
    return hit, len(cohort)


def criterion(citizens: dict[str, Citizen], period: date) -> dict[str, tuple[int, int]]:
    """fsm_virksomhedsforloeb per municipality: (numerator, denominator) for the 3-month
    window ending with the month of `period` (domain.md §4)."""
    window_last = last_day(period)
    window_first = add_months(period, -2)
    out: dict[str, tuple[int, int]] = {}
    for c in citizens.values():
        home = _group1_member_on(c, window_last)
        if home is None:
            continue
        num, den = out.get(home, (0, 0))
        out[home] = (num + active_between(c, window_first, window_last), den + 1)
    return out


def _group1_member_on(c: Citizen, day: date) -> str | None:
    """The municipality where the citizen is a group-1 member on `day`, if any."""
    home, group, exempt = None, None, False
    for e in c.events:
        if e.occurred > day:
            break
        if e.type == "visitation":
            home, group = e.municipality, e.data["group"]
        elif e.municipality != home:
            continue
        elif e.type in ("afklaret", "relocated"):
            home = None
        elif e.type == "visitation_ended" and e.occurred < day:
            home = None
        elif e.type == "exemption_started":
            exempt = True
        elif e.type == "exemption_ended" and e.occurred < day:
            exempt = False
    return home if group == 1 and not exempt else None
