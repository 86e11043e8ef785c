"""Follow-up windows: what happened to a member some months after an anchor.

Every outcome has three states: yes, no, or not yet due. A window that has not fully
elapsed on the platform's day is "not yet due" — censored, never a failure — even when the
answer looks known already: counting early failures but not early successes would drag a
young cohort's rate down (domain.md §7: blank is not "no").

- CVR survival: is the business alive `k` months after `cvr_registered` (6/12/18/24,
  seeds/000 L296)? Alive on the check day unless ceased before it (the cvr_ceased day is
  its last day). Due once the check day has passed.
- Status after a tilbud: `k` months after the tilbud's last day (3/6/9, seeds/000 L1721,
  seeds/001 L546), in work (ordinary hours > 0) or in ordinary education in that calendar
  month. Due once that month has ended; hours reported later revise it, as every figure.
- Self-support after a microloan: `k` months after the microloan period (1, 2, 2½ years,
  seeds/000 L193-195). Self-supporting on the check day = in no programme that day, and
  the last afklaret before it was to work, a business or other self-support.
- Outcome windows: months 1-3, 4-6, 7-9, 10-12 from entry, month 1 being the entry month
  (as the FSM curve counts), in work in any month of the window (seeds/003 L7289,
  L7304); by half-year entry cohort (L7346).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from kommunepuls.domain.citizen import CitizenState
from kommunepuls.experiments.citizen import ExperimentCitizen
from kommunepuls.experiments.dates import add_months, half_year_label, month_end
from kommunepuls.experiments.membership import Member
from kommunepuls.experiments.registry import Followup

Outcome = Literal["yes", "no", "not_yet_due"]
SELF_SUPPORT = frozenset({"job", "self_employment", "other_self_support"})


@dataclass(frozen=True, slots=True)
class FollowupResult:
    kind: str
    citizen_id: str
    municipality: str
    subject: str  # the CVR number, tilbud id, loan id, or the stay's first day
    anchor: date
    months: int  # the window's last month after the anchor
    check_day: date  # the day (or the last day of the window) the outcome is read on
    outcome: Outcome

    @property
    def cohort(self) -> str:
        return half_year_label(self.anchor)


def _elapsed(check_day: date, today: date) -> bool:
    return check_day < today  # the check day itself has fully passed


def _worked_in(state: CitizenState, month: str) -> bool:
    return any(h.month == month and h.hours > 0 for h in state.ordinary_hours)


def _in_education(state: CitizenState, first: date, last: date) -> bool:
    return any(t.kind == "ordinaer_uddannelse" and t.start <= last
               and (t.end is None or t.end >= first) for t in state.tilbud)


def self_supporting(state: CitizenState, day: date) -> bool:
    """In no programme on `day`, and the latest afklaret on or before it was to self-support."""
    if any(m.start <= day and (m.end is None or day <= m.end) for m in state.memberships):
        return False
    latest = max((a for a in state.afklaret if a.on <= day), key=lambda a: a.on, default=None)
    return latest is not None and latest.outcome in SELF_SUPPORT


def _during(member: Member, day: date, today: date) -> bool:
    return member.start <= day <= member.last_day(today)


def cvr_survival(member: Member, person: ExperimentCitizen, months: Iterable[int],
                 today: date) -> list[FollowupResult]:
    out = []
    for spell in person.state.cvr_registrations:
        if not _during(member, spell.start, today):
            continue
        for k in months:
            check = add_months(spell.start, k)
            if not _elapsed(check, today):
                outcome: Outcome = "not_yet_due"
            else:
                outcome = "yes" if spell.end is None or spell.end >= check else "no"
            out.append(FollowupResult("cvr_survival", person.citizen_id, member.municipality,
                                      spell.cvr, spell.start, k, check, outcome))
    return out


def status_after_tilbud(member: Member, person: ExperimentCitizen, kinds: Iterable[str],
                        months: Iterable[int], today: date) -> list[FollowupResult]:
    wanted, out = set(kinds), []
    for spell in person.state.tilbud:
        if spell.kind not in wanted or spell.end is None or not _during(member, spell.start,
                                                                         today):
            continue
        for k in months:
            check_month = add_months(spell.end, k)
            first, last = check_month.replace(day=1), month_end(check_month)
            if not _elapsed(last, today):
                outcome: Outcome = "not_yet_due"
            else:
                ok = (_worked_in(person.state, first.isoformat()[:7])
                      or _in_education(person.state, first, last))
                outcome = "yes" if ok else "no"
            out.append(FollowupResult("status_after_tilbud", person.citizen_id,
                                      member.municipality, spell.tilbud_id, spell.end, k, last,
                                      outcome))
    return out


def self_support_after_microloan(member: Member, person: ExperimentCitizen,
                                 months: Iterable[int], today: date) -> list[FollowupResult]:
    out = []
    for loan in person.microloans:
        if not _during(member, loan.start, today):
            continue
        anchor = loan.expected_end
        for k in months:
            check = add_months(anchor, k)
            if not _elapsed(check, today):
                outcome: Outcome = "not_yet_due"
            else:
                outcome = "yes" if self_supporting(person.state, check) else "no"
            out.append(FollowupResult("self_support_after_microloan", person.citizen_id,
                                      member.municipality, loan.loan_id, anchor, k, check,
                                      outcome))
    return out


def outcome_windows(member: Member, person: ExperimentCitizen, ends: Iterable[int],
                    today: date) -> list[FollowupResult]:
    """Windows (previous end + 1) .. end months from entry, month 1 = the entry month."""
    out, previous = [], 0
    for end in sorted(ends):
        first = add_months(member.start.replace(day=1), previous)
        last = month_end(add_months(member.start.replace(day=1), end - 1))
        if not _elapsed(last, today):
            outcome: Outcome = "not_yet_due"
        else:
            months = [add_months(first, i).isoformat()[:7] for i in range(end - previous)]
            outcome = "yes" if any(_worked_in(person.state, m) for m in months) else "no"
        out.append(FollowupResult("outcome_windows", person.citizen_id, member.municipality,
                                  member.start.isoformat(), member.start, end, last, outcome))
        previous = end
    return out


def followups_of(followup: Followup, member: Member, person: ExperimentCitizen,
                 today: date) -> list[FollowupResult]:
    """The registry's follow-up for one member stay."""
    if followup.kind == "cvr_survival":
        return cvr_survival(member, person, followup.months, today)
    if followup.kind == "status_after_tilbud":
        return status_after_tilbud(member, person, followup.tilbud_kinds, followup.months,
                                   today)
    if followup.kind == "self_support_after_microloan":
        return self_support_after_microloan(member, person, followup.months, today)
    return outcome_windows(member, person, followup.months, today)


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    yes: int
    no: int
    not_yet_due: int

    @property
    def due(self) -> int:
        return self.yes + self.no


CountKey = tuple[str, int, str, str]  # (kind, months, municipality, half-year cohort)


def count_outcomes(results: Iterable[FollowupResult]) -> dict[CountKey, OutcomeCount]:
    totals: dict[CountKey, list[int]] = {}
    for r in results:
        total = totals.setdefault((r.kind, r.months, r.municipality, r.cohort), [0, 0, 0])
        total[("yes", "no", "not_yet_due").index(r.outcome)] += 1
    return {key: OutcomeCount(*values) for key, values in totals.items()}
