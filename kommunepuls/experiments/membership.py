"""Who is in an experiment, and when: by marking or by rule, with validity periods.

- By marking: a `visitation` with `programme` = the experiment id (the persongruppemarkering,
  seeds/000 L87-93, L272-280) in one of the experiment's municipalities, from its day
  until visitation_ended / afklaret / relocated — the ordinary membership rules of the fold.
- By rule: any membership whose target group the experiment covers in that municipality
  (e.g. every revalidering decision starting from 1 July 2018, seeds/001 L92-96); the
  programme it was sent under does not matter.

Both are clipped to the experiment's period (and today). `population` is the unclipped,
target-group population of given municipalities — what comparisons and cadence indicators
count, so a comparison municipality is counted by the same rule as a trial one.
`unmarked_eligible` lists citizens a marking experiment could have marked but did not
(domain.md §7: forgotten markings spoil evaluations, so show them).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from kommunepuls.domain.citizen import Membership
from kommunepuls.experiments.citizen import ExperimentCitizen
from kommunepuls.experiments.registry import Experiment

Basis = Literal["marking", "rule", "population"]


@dataclass(frozen=True, slots=True)
class Member:
    experiment: str
    citizen_id: str
    municipality: str
    target_group: str | None
    start: date
    end: date | None  # last day, inclusive; None = still a member today
    basis: Basis

    def on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def last_day(self, today: date) -> date:
        return today if self.end is None else min(self.end, today)


def _clip(membership: Membership, entry: Experiment, today: date) -> tuple[date, date | None]:
    """The part of a membership inside the experiment's period. None as the end means
    "still a member today", which holds only while the experiment itself runs."""
    start = max(membership.start, entry.start.on)
    if membership.end is not None:
        return start, min(membership.end, entry.end.on)
    return start, None if entry.end.on >= today else entry.end.on


def _merge(members: Iterable[Member]) -> tuple[Member, ...]:
    """One stretch per (municipality, target group): overlapping or adjacent memberships
    sent under several programmes are one stay in the target group."""
    merged: list[Member] = []
    for m in sorted(members, key=lambda m: (m.municipality, m.target_group or "", m.start)):
        last = merged[-1] if merged else None
        if (last is not None and (last.municipality, last.target_group)
                == (m.municipality, m.target_group)
                and (last.end is None or m.start.toordinal() <= last.end.toordinal() + 1)):
            end = None if last.end is None or m.end is None else max(last.end, m.end)
            merged[-1] = Member(last.experiment, last.citizen_id, last.municipality,
                                last.target_group, last.start, end, last.basis)
        else:
            merged.append(m)
    return tuple(merged)


def members(entry: Experiment, person: ExperimentCitizen, today: date) -> tuple[Member, ...]:
    """The citizen's stays in the experiment (clipped to its period and to today)."""
    last = min(entry.end.on, today)
    if last < entry.start.on:
        return ()
    found = []
    for membership in person.state.memberships:
        if entry.membership.by == "marking":
            if (membership.programme != entry.marking_programme
                    or membership.municipality not in entry.municipalities):
                continue
        else:
            if not entry.covers(membership.municipality, membership.target_group):
                continue
            started_from = entry.membership.started_from
            if started_from is not None and membership.start < started_from:
                continue
        if membership.start > last or (membership.end is not None
                                       and membership.end < entry.start.on):
            continue
        start, end = _clip(membership, entry, today)
        found.append(Member(entry.id, person.citizen_id, membership.municipality,
                            membership.target_group, start, end, entry.membership.by))
    return _merge(found)


def population(entry: Experiment, person: ExperimentCitizen,
               municipalities: Collection[str],
               target_groups: Collection[str] | None = None) -> tuple[Member, ...]:
    """The citizen's stays in the experiment's target groups in `municipalities`, at any
    time (not clipped to the experiment): the before/after and trial/comparison base."""
    groups = set(entry.target_groups if target_groups is None else target_groups)
    found = [
        Member(entry.id, person.citizen_id, m.municipality, m.target_group, m.start, m.end,
               "population")
        for m in person.state.memberships
        if m.municipality in municipalities and m.target_group in groups
        # The marking is the experiment, not a stay in a target group: counting it would
        # give trial municipalities stays the comparison municipalities cannot have.
        and m.programme != entry.marking_programme
    ]
    return _merge(found)


def unmarked_eligible(entry: Experiment, person: ExperimentCitizen,
                      today: date) -> tuple[Member, ...]:
    """For a marking experiment: the citizen's stays in a covered target group, in an
    experiment municipality during the experiment, when they were never marked. An upper
    bound — not everyone eligible is meant to join — but a marking that was forgotten
    shows up here."""
    if entry.membership.by != "marking" or members(entry, person, today):
        return ()
    last = min(entry.end.on, today)
    found = []
    for m in population(entry, person, entry.municipalities):
        if not entry.covers(m.municipality, m.target_group):
            continue
        if m.start > last or (m.end is not None and m.end < entry.start.on):
            continue
        found.append(m)
    return tuple(found)
