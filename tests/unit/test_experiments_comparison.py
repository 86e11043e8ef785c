"""Difference-in-differences from pooled counts, and the pre-trend check, by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from kommunepuls.domain.evaluation import Count
from kommunepuls.experiments.comparison import compare, points, side_of

START = date(2017, 7, 1)
TRIAL, COMPARISON = ("A", "B"), ("C", "D")

# (municipality, period) -> numerator / denominator
SERIES = {
    ("A", "2017-01"): Count(10, 40), ("A", "2017-02"): Count(12, 40),
    ("A", "2018-01"): Count(20, 40), ("A", "2018-02"): Count(22, 40),
    ("B", "2017-01"): Count(5, 20), ("B", "2017-02"): Count(5, 20),
    ("B", "2018-01"): Count(8, 20), ("B", "2018-02"): Count(10, 20),
    ("C", "2017-01"): Count(30, 100), ("C", "2017-02"): Count(30, 100),
    ("C", "2018-01"): Count(36, 100), ("C", "2018-02"): Count(34, 100),
    ("D", "2017-01"): Count(2, 10), ("D", "2017-02"): Count(4, 10),
    ("D", "2018-01"): Count(5, 10), ("D", "2018-02"): Count(5, 10),
    ("E", "2018-01"): Count(99, 100),  # in neither group: ignored
}


def test_did_is_computed_from_pooled_counts() -> None:
    # Trial before: (10+12+5+5)/(40+40+20+20) = 32/120; after: (20+22+8+10)/120 = 60/120.
    # Comparison before: (30+30+2+4)/(100+100+10+10) = 66/220; after: (36+34+5+5)/220 = 80/220.
    # DiD = (60-32)/120 - (80-66)/220 = 7/30 - 7/110 = 56/330 = 0.16969... -> 17.0 pp.
    result = compare(SERIES, TRIAL, COMPARISON, START)
    assert (result.trial_before.numerator, result.trial_before.denominator) == (32, 120)
    assert (result.trial_after.numerator, result.trial_after.denominator) == (60, 120)
    assert (result.comparison_before.numerator, result.comparison_before.denominator) == (66, 220)
    assert (result.comparison_after.numerator, result.comparison_after.denominator) == (80, 220)
    assert result.did == Fraction(56, 330)
    assert points(result.did) == Decimal("17.0")
    assert result.periods_before == ("2017-01", "2017-02")
    assert result.periods_after == ("2018-01", "2018-02")


def test_pooling_differs_from_averaging_municipal_shares() -> None:
    # Averaging the four trial shares before (0.25, 0.3, 0.25, 0.25) gives 0.2625, not the
    # pooled 32/120 = 0.2667: the engine must pool.
    result = compare(SERIES, TRIAL, COMPARISON, START)
    assert result.trial_before.ratio == Fraction(32, 120) != Fraction(2625, 10000)


def test_pre_trend_gaps_slope_and_placebo() -> None:
    # 2017-01: trial 15/60 = 1/4, comparison 32/110 = 16/55, gap = -9/220.
    # 2017-02: trial 17/60, comparison 34/110 = 17/55, gap = 17/60 - 17/55 = -17/660.
    # Slope over two points = -17/660 + 27/660 = 1/66 (1.5 pp per period). Placebo DiD of
    # 2017-02 vs 2017-01 = (17-15)/60 - (34-32)/110 = 1/30 - 1/55 = 1/66.
    trend = compare(SERIES, TRIAL, COMPARISON, START).pre_trend
    assert [p.gap for p in trend.points] == [Fraction(-9, 220), Fraction(-17, 660)]
    assert trend.slope == Fraction(1, 66)
    assert trend.placebo == Fraction(1, 66)
    assert points(trend.slope) == Decimal("1.5")


def test_least_squares_slope_over_four_periods() -> None:
    # Gaps 0, 1/10, 1/10, 3/10 at x = 0..3: slope = sum((x-1.5)(y-0.125)) / 5 = 0.45/5.
    series = {}
    for i, (t, c) in enumerate([(50, 50), (60, 50), (60, 50), (80, 50)]):
        series[("A", f"2016-0{i + 1}")] = Count(t, 100)
        series[("C", f"2016-0{i + 1}")] = Count(c, 100)
    trend = compare(series, ("A",), ("C",), START).pre_trend
    assert trend.slope == Fraction(9, 100)
    # Placebo: late half (60+80)/200 - early (50+60)/200 = 3/20; comparison moves 0.
    assert trend.placebo == Fraction(3, 20)


def test_a_period_the_start_cuts_through_is_left_out() -> None:
    assert side_of("2017-06", START) == "before"
    assert side_of("2017-07", START) == "after"
    assert side_of("2017-Q2", START) == "before"
    assert side_of("2017-H2", START) == "after"
    assert side_of("2017-07", date(2017, 7, 15)) is None


def test_explicit_spans_leave_out_the_first_half_of_2017() -> None:
    # The rehabilitation design: before = 2016, after = July 2017 - December 2019.
    before, after = (date(2016, 1, 1), date(2016, 12, 31)), (date(2017, 7, 1),
                                                            date(2019, 12, 31))
    start = date(2017, 1, 1)  # H1 2017 is after the start but outside the after span
    assert side_of("2016-H2", start, before, after) == "before"
    assert side_of("2017-H1", start, before, after) is None
    assert side_of("2017-H2", start, before, after) == "after"
    assert side_of("2020-H1", start, before, after) is None


def test_a_municipality_in_both_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="both groups"):
        compare(SERIES, ("A",), ("A", "C"), START)


def test_empty_sides_give_no_estimate() -> None:
    result = compare({("A", "2018-01"): Count(1, 2)}, ("A",), ("C",), START)
    assert result.did is None and result.pre_trend.slope is None
