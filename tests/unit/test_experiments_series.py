"""From events to a comparison: series per municipality and period, then the DiD."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kommunepuls.domain.evaluation import Count
from kommunepuls.experiments.citizen import read_citizen
from kommunepuls.experiments.comparison import compare, points
from kommunepuls.experiments.registry import registry
from kommunepuls.experiments.series import UnknownIndicator, comparable, indicator_series
from tests.unit.factories import History, Store

TODAY = date(2019, 1, 1)


def sick(store: Store, citizen: str, municipality: str, entry: str,
         worked: str | None) -> History:
    h = History(citizen, municipality=municipality, store=store)
    h.add("visitation", entry, programme="sygeopfoelgning", target_group="sygedagpenge",
          group=None)
    if worked:
        h.hours(worked, 37)
    return h


def rehab_people() -> list:  # type: ignore[type-arg]
    # Rebild (840, trial) and Assens (420, comparison); window 1-3 months from entry.
    store = Store()
    rows = [("T1", "840", "2016-08-01", "2016-09"), ("T2", "840", "2016-09-01", None),
            ("T3", "840", "2018-02-01", "2018-03"), ("T4", "840", "2018-03-01", "2018-04"),
            ("C1", "420", "2016-08-01", "2016-10"), ("C2", "420", "2016-09-01", None),
            ("C3", "420", "2018-02-01", "2018-02"), ("C4", "420", "2018-03-01", None),
            ("X", "101", "2018-02-01", "2018-02")]  # København: in neither group
    return [read_citizen(sick(store, *row).events) for row in rows]


def test_outcome_windows_series_by_half_year_cohort() -> None:
    entry = registry()["rehabiliteringsteam_lae265"]
    found = indicator_series("outcome_windows:3", entry, rehab_people(), TODAY,
                             entry.comparison.municipalities)
    assert found.series == {("840", "2016-H2"): Count(1, 2), ("840", "2018-H1"): Count(2, 2),
                            ("420", "2016-H2"): Count(1, 2), ("420", "2018-H1"): Count(1, 2)}


def test_the_rehabilitation_design_end_to_end() -> None:
    # Trial 1/2 -> 2/2, comparison 1/2 -> 1/2: DiD = (1 - 1/2) - (1/2 - 1/2) = 50.0 pp,
    # with the design's spans (before 2016, after July 2017 - December 2019).
    entry = registry()["rehabiliteringsteam_lae265"]
    design = entry.comparison
    assert design.before is not None and design.after is not None
    found = indicator_series("outcome_windows:3", entry, rehab_people(), TODAY,
                             design.municipalities)
    result = compare(found.series, entry.municipalities, design.municipalities,
                     design.after.first, before=(design.before.first, design.before.last),
                     after=(design.after.first, design.after.last))
    assert points(result.did) == Decimal("50.0")
    assert result.periods_before == ("2016-H2",) and result.periods_after == ("2018-H1",)


def test_a_catalogue_indicator_can_be_compared_too() -> None:
    entry = registry()["forholdstal"]
    h = History("A", municipality="849")
    h.add("visitation", "2018-11-01", programme="flere_skal_med",
          target_group="kontanthjaelp_aktivitetsparat", group=1)
    found = indicator_series("fsm_virksomhedsforloeb", entry, [read_citizen(h.events)],
                             TODAY, ())
    assert found.series[("849", "2018-12")] == Count(0, 1)


def test_the_experiment_lists_what_it_can_compare() -> None:
    entry = registry()["ledighedsydelse_revurdering"]
    assert "on_time:ledighedsydelse_revurdering" in comparable(entry)
    with pytest.raises(UnknownIndicator):
        indicator_series("on_time:integration_samtaler", entry, [], TODAY, ())
