"""Per-municipality, per-period counts of an indicator, for comparing an experiment's
municipalities with its comparison municipalities (comparison.py).

Indicators a comparison can take:
- any catalogue indicator id (`fsm_virksomhedsforloeb`, ...), per calendar month, one group;
- `samtaler_per_citizen`: held samtaler per citizen of the experiment's target groups, per
  quarter;
- `weeks_to_first_samtale`: days from entry to the first samtale per entry with one, per
  entry month (shown in weeks);
- `on_time:<family>`: deadlines of a rule family met on time, per month of the due day;
- `outcome_windows:<months>`: entries in work in the window ending <months> after entry,
  per half-year entry cohort (not-yet-due entries left out).

Trial municipalities count the target groups the experiment covers there; comparison
municipalities count all of the experiment's target groups — the same rule applied to
municipalities that did not run it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from kommunepuls.domain.catalogue import CATALOGUE
from kommunepuls.domain.evaluation import Count, contributions, tally
from kommunepuls.experiments.cadence import on_time, samtaler_per_citizen, weeks_to_first_samtale
from kommunepuls.experiments.citizen import ExperimentCitizen
from kommunepuls.experiments.comparison import Series
from kommunepuls.experiments.deadlines import citizen_deadlines
from kommunepuls.experiments.followup import outcome_windows
from kommunepuls.experiments.membership import population
from kommunepuls.experiments.registry import Experiment
from kommunepuls.experiments.rules import RULE_FAMILIES

CATALOGUE_IDS = {d.id: d for d in CATALOGUE}


class UnknownIndicator(KeyError):
    """The indicator is not one a comparison can take."""


@dataclass(frozen=True, slots=True)
class IndicatorSeries:
    indicator: str
    unit: str  # share | per_citizen | days
    period_kind: str  # month | quarter | half_year
    series: Series


def comparable(entry: Experiment) -> tuple[str, ...]:
    """The indicator ids a comparison for this experiment accepts (catalogue ids too)."""
    own = ["samtaler_per_citizen", "weeks_to_first_samtale"]
    own += [f"on_time:{family}" for family in entry.rule_families]
    own += [f"outcome_windows:{m}" for f in entry.followups if f.kind == "outcome_windows"
            for m in f.months]
    return (*own, *CATALOGUE_IDS)


def _relevant(entry: Experiment, trial: Collection[str], comparison: Collection[str],
              municipality: str, target_group: str | None) -> bool:
    if municipality in trial:
        return entry.covers(municipality, target_group)
    return municipality in comparison and target_group in entry.target_groups


def indicator_series(indicator: str, entry: Experiment, people: Sequence[ExperimentCitizen],
                     today: date, comparison: Collection[str], group: int = 1
                     ) -> IndicatorSeries:
    trial = entry.municipalities
    places = set(trial) | set(comparison)
    if indicator in CATALOGUE_IDS:
        definition = CATALOGUE_IDS[indicator]
        counts = tally(c for p in people for c in contributions(p.state, today, (definition,))
                       if c.municipality in places)
        return IndicatorSeries(indicator, "share", "month", {
            (k.municipality, k.period): v for k, v in counts.items() if k.group == group})
    if indicator == "samtaler_per_citizen":
        series: dict[tuple[str, str], Count] = {}
        for target_group in entry.target_groups:
            found = samtaler_per_citizen(people, target_group, today, places)
            for (municipality, period), count in found.items():
                if _relevant(entry, trial, comparison, municipality, target_group):
                    old = series.get((municipality, period), Count(0, 0))
                    series[(municipality, period)] = Count(old.numerator + count.numerator,
                                                           old.denominator + count.denominator)
        return IndicatorSeries(indicator, "per_citizen", "quarter", series)
    if indicator == "weeks_to_first_samtale":
        series = {}
        for target_group in entry.target_groups:
            firsts = weeks_to_first_samtale(people, target_group, today, places)
            for key, first in firsts.items():
                if _relevant(entry, trial, comparison, key[0], target_group):
                    old = series.get(key, Count(0, 0))
                    series[key] = Count(old.numerator + first.days,
                                        old.denominator + first.with_samtale)
        return IndicatorSeries(indicator, "days", "month", series)
    kind, _, argument = indicator.partition(":")
    if kind == "on_time" and argument in RULE_FAMILIES and argument in entry.rule_families:
        results = [citizen_deadlines(p, argument, today) for p in people]
        series = {}
        for (municipality, period, _variant), count in on_time(results, today).items():
            if municipality in places:
                old = series.get((municipality, period), Count(0, 0))
                series[(municipality, period)] = Count(old.numerator + count.numerator,
                                                       old.denominator + count.denominator)
        return IndicatorSeries(indicator, "share", "month", series)
    if kind == "outcome_windows" and indicator in comparable(entry):
        months = int(argument)
        ends = next(f.months for f in entry.followups if f.kind == "outcome_windows")
        series = {}
        for person in people:
            for stay in population(entry, person, places):
                if not _relevant(entry, trial, comparison, stay.municipality,
                                 stay.target_group):
                    continue
                for result in outcome_windows(stay, person, ends, today):
                    if result.months != months or result.outcome == "not_yet_due":
                        continue
                    key = (result.municipality, result.cohort)
                    old = series.get(key, Count(0, 0))
                    series[key] = Count(old.numerator + (result.outcome == "yes"),
                                        old.denominator + 1)
        return IndicatorSeries(indicator, "share", "half_year", series)
    raise UnknownIndicator(indicator)
