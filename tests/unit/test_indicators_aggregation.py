"""Values, suppression, national totals, strata and the spread across municipalities."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kommunepuls.domain.evaluation import Count, CountKey
from kommunepuls.domain.rounding import percent_half_up
from kommunepuls.domain.strata import (
    NATIONAL,
    by_population_band,
    by_volume_band,
    distribution,
    municipal_distribution,
    national,
    volume_band,
)
from kommunepuls.domain.values import indicator_value, suppress

VF = "fsm_virksomhedsforloeb"
EVER = "fsm_virksomhedsforloeb_ever"
TARGET = Decimal("0.40")


def key(
    municipality: str, indicator: str = VF, period: str = "2019-06", group: int = 1
) -> CountKey:
    return CountKey(indicator, municipality, period, group)


def test_percent_rounds_half_up_not_half_even() -> None:
    # 40 / 128 = 31.25 %: half-up gives 31.3 where Python's round gives 31.2.
    assert percent_half_up(40, 128) == Decimal("31.3")
    assert round(40 / 128 * 100, 1) == 31.2
    assert indicator_value(40, 128).value_pct == 31.3


def test_exactly_40_percent_meets_the_target() -> None:
    # 2/5 = 0.4 exactly: met. 39/98 = 39.8 %: not met.
    assert indicator_value(2, 5, TARGET).met is True
    assert indicator_value(39, 98, TARGET).met is False


def test_value_without_denominator_is_none() -> None:
    value = indicator_value(0, 0, TARGET)
    assert (value.value, value.value_pct, value.met, value.target) == (None, None, None, 0.4)


def test_value_without_target_has_no_met() -> None:
    assert indicator_value(3, 10).met is None


@pytest.mark.parametrize(
    ("numerator", "denominator", "suppressed"),
    [(0, 10, False), (0, 0, False), (3, 10, True), (5, 10, False), (4, 4, True), (5, 5, False)],
)
def test_counts_of_1_to_4_are_suppressed(
    numerator: int, denominator: int, suppressed: bool
) -> None:
    value = suppress(indicator_value(numerator, denominator, TARGET))
    assert value.suppressed is suppressed
    if suppressed:
        assert (value.numerator, value.denominator, value.value, value.value_pct) == (None,) * 4
        assert value.met is None
    else:
        assert (value.numerator, value.denominator) == (numerator, denominator)


def test_national_pools_counts_not_shares() -> None:
    # 461: 1/10, 751: 9/10, 825: 0/0 is absent. Pooled 10/20 = 50 % (not the mean of shares
    # of anything else, and the other indicator stays apart).
    counts = {
        key("461"): Count(1, 10),
        key("751"): Count(9, 10),
        key("751", indicator=EVER): Count(7, 8),
    }
    assert national(counts) == {
        key(NATIONAL): Count(10, 20),
        key(NATIONAL, indicator=EVER): Count(7, 8),
    }


def test_population_band_strata_pool_municipalities_by_size() -> None:
    # 461 Odense and 751 Aarhus are 50k+, 825 Læsø (1,806) 0-25k, 153 Brøndby 25-50k.
    counts = {
        key("461"): Count(4, 10),
        key("751"): Count(6, 10),
        key("825"): Count(1, 2),
        key("153"): Count(3, 7),
        key("999"): Count(1, 1),
    }
    assert by_population_band(counts) == {
        key("50k+"): Count(10, 20),
        key("0-25k"): Count(1, 2),
        key("25-50k"): Count(3, 7),
        key("unknown"): Count(1, 1),
    }


def test_volume_band_edges() -> None:
    assert [volume_band(n) for n in (0, 99, 100, 500, 501)] == [
        "<100",
        "<100",
        "100-500",
        "100-500",
        ">500",
    ]


def test_volume_strata_use_group_1_ever_visited_in_the_same_period() -> None:
    # Group-1 volume = denominator of fsm_virksomhedsforloeb_ever for the same period:
    # 461 has 120 in June (100-500), 751 has 600 (>500), 825 has 40 (<100).
    counts = {
        key("461", indicator=EVER): Count(80, 120),
        key("751", indicator=EVER): Count(400, 600),
        key("825", indicator=EVER): Count(30, 40),
        key("461"): Count(40, 90),
        key("751"): Count(200, 500),
        key("825"): Count(10, 20),
        key("461", indicator="fsm_virksomhedsforloeb_curve", period="m03"): Count(2, 10),
    }
    pooled = by_volume_band(counts)
    assert pooled[key("100-500")] == Count(40, 90)
    assert pooled[key(">500")] == Count(200, 500)
    assert pooled[key("<100")] == Count(10, 20)
    # Curve cells take the municipality's latest volume (461: 120).
    assert pooled[key("100-500", indicator="fsm_virksomhedsforloeb_curve", period="m03")] == (
        Count(2, 10)
    )


def test_distribution_uses_linear_interpolation_between_ranks() -> None:
    # Type 7 on [0.1, 0.2, 0.3, 0.4]: h = 3p; Q1 at 0.75 -> 0.175, median 0.25, Q3 0.325.
    summary = distribution([0.4, 0.1, 0.3, 0.2])
    assert summary is not None
    assert (summary.n, summary.min, summary.max) == (4, 0.1, 0.4)
    assert summary.q1 == pytest.approx(0.175)
    assert summary.median == pytest.approx(0.25)
    assert summary.q3 == pytest.approx(0.325)


def test_distribution_of_one_value_and_of_none() -> None:
    one = distribution([0.5])
    assert one is not None and (one.min, one.q1, one.median, one.q3, one.max) == (0.5,) * 5
    assert distribution([]) is None


def test_municipal_distribution_uses_unrounded_shares_and_can_leave_out_small_ones() -> None:
    counts = {
        key("461"): Count(1, 3),
        key("751"): Count(2, 4),
        key("851"): Count(30, 50),
        key("101"): Count(0, 0),
        key("751", period="2019-05"): Count(0, 9),
    }
    everyone = municipal_distribution(counts, VF, "2019-06", 1)
    assert everyone is not None
    assert (everyone.n, everyone.min, everyone.median, everyone.max) == (3, 1 / 3, 0.5, 0.6)
    shown = municipal_distribution(counts, VF, "2019-06", 1, min_denominator=5)
    assert shown is not None and (shown.n, shown.min) == (1, 0.6)
