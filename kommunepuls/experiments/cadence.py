"""Cadence indicators, all by rule set so trial and ordinary municipalities compare:

- `on_time`: deadlines met on time / deadlines due (counting unit: a deadline; exempt
  and not-yet-due ones are left out), per municipality, month of the due day and variant;
- `samtaler_per_citizen`: held samtaler during the stay / citizens in the target group in
  the quarter (a rate, not a share; seeds/000 L470, L476 "antal samtaler pr. kvartal");
- `weeks_to_first_samtale`: days from the start of a stay to its first held samtale,
  summed, over stays that have had one (seeds/000 L476-478 "uger til 1. samtale"); stays
  without one yet are counted apart, never as zero or as a failure.

Every result is a pair of integers, so municipalities pool by summing (domain.md §7).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from kommunepuls.domain.evaluation import Count
from kommunepuls.experiments.citizen import ExperimentCitizen
from kommunepuls.experiments.dates import add_months, quarter_bounds, quarter_label
from kommunepuls.experiments.deadlines import CitizenDeadlines, month_of, target_group_stays

DUE = frozenset({"on_time", "late", "overdue", "missed"})

OnTimeKey = tuple[str, str, str]  # (municipality, YYYY-MM of the due day, variant)
PeriodKey = tuple[str, str]  # (municipality, period)


def on_time(results: Iterable[CitizenDeadlines], today: date) -> dict[OnTimeKey, Count]:
    totals: dict[OnTimeKey, list[int]] = {}
    for result in results:
        for deadline in result.deadlines:
            if deadline.status not in DUE or deadline.due >= today:
                continue
            key = (deadline.municipality, month_of(deadline.due), deadline.variant)
            total = totals.setdefault(key, [0, 0])
            total[0] += deadline.status == "on_time"
            total[1] += 1
    return {key: Count(n, d) for key, (n, d) in totals.items()}


def samtaler_per_citizen(people: Iterable[ExperimentCitizen], target_group: str, today: date,
                         municipalities: Collection[str] | None = None
                         ) -> dict[PeriodKey, Count]:
    """Per (municipality, YYYY-Qn): held samtaler on days of a stay in the target group /
    citizens with at least one such day in the quarter. The current quarter is partial."""
    totals: dict[PeriodKey, list[int]] = {}
    for person in people:
        for stay in target_group_stays(person, target_group):
            if municipalities is not None and stay.municipality not in municipalities:
                continue
            last = today if stay.end is None else min(stay.end, today)
            quarter = quarter_label(stay.start)
            while True:
                first_day, last_day = quarter_bounds(quarter)
                if first_day > last:
                    break
                lo, hi = max(first_day, stay.start), min(last_day, last)
                held = sum(1 for s in person.samtaler if s.held
                           and s.municipality == stay.municipality and lo <= s.day <= hi)
                total = totals.setdefault((stay.municipality, quarter), [0, 0])
                total[0] += held
                total[1] += 1
                quarter = quarter_label(add_months(first_day, 3))
    return {key: Count(n, d) for key, (n, d) in totals.items()}


@dataclass(frozen=True, slots=True)
class FirstSamtale:
    days: int  # summed days from stay start to the first held samtale
    with_samtale: int  # stays that have had one
    none_yet: int  # open stays without one yet (censored)
    none_during_stay: int  # stays that ended without one

    @property
    def weeks(self) -> float | None:
        return None if self.with_samtale == 0 else self.days / self.with_samtale / 7

    def count(self) -> Count:
        return Count(self.days, self.with_samtale)


def weeks_to_first_samtale(people: Iterable[ExperimentCitizen], target_group: str,
                           today: date, municipalities: Collection[str] | None = None
                           ) -> dict[PeriodKey, FirstSamtale]:
    """Per (municipality, YYYY-MM the stay started)."""
    totals: dict[PeriodKey, list[int]] = {}
    for person in people:
        for stay in target_group_stays(person, target_group):
            if stay.start > today or (municipalities is not None
                                      and stay.municipality not in municipalities):
                continue
            last = today if stay.end is None else min(stay.end, today)
            first = next((s.day for s in person.samtaler
                          if s.held and s.municipality == stay.municipality
                          and stay.start <= s.day <= last), None)
            total = totals.setdefault((stay.municipality, month_of(stay.start)), [0, 0, 0, 0])
            if first is not None:
                total[0] += (first - stay.start).days
                total[1] += 1
            elif stay.end is None or stay.end >= today:
                total[2] += 1
            else:
                total[3] += 1
    return {key: FirstSamtale(*values) for key, values in totals.items()}
