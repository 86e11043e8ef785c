"""The simulated population has the shape of the FSM evaluation (seeds/004), counted plainly.

The run goes three months past the default end so that month 29 after the earliest
visitations has its eIndkomst reports (sent the month after); afklaret and "ever" shares
are read as of the default end, 2019-12-31. Tolerance: ±5 percentage points.
"""

from __future__ import annotations

from datetime import date

import pytest

from kommunepuls.simulator import SimConfig, generate
from kommunepuls.simulator import calibration as count
from kommunepuls.simulator.calibration import Citizen
from kommunepuls.simulator.world import build_world

END = date(2020, 3, 31)
AS_OF = date(2019, 12, 31)
TOLERANCE = 0.05
SEED = 2024


@pytest.fixture(scope="module")
def citizens() -> dict[str, Citizen]:
    return count.tally(generate(SimConfig(seed=SEED, citizens=2_000, end=END)))


def share(pair: tuple[int, int]) -> float:
    num, den = pair
    assert den > 50, "too few citizens to judge"
    return num / den


def test_visitation_groups_are_55_34_11_percent(citizens: dict[str, Citizen]) -> None:
    # seeds/004 Fig 4-2, L2076-2119 (n = 25,461)
    shares = count.group_shares(citizens)
    assert shares[1] == pytest.approx(0.55, abs=TOLERANCE)
    assert shares[2] == pytest.approx(0.34, abs=TOLERANCE)
    assert shares[3] == pytest.approx(0.11, abs=TOLERANCE)


def test_about_15_to_20_percent_start_in_virksomhedsforloeb_in_month_1(
    citizens: dict[str, Citizen],
) -> None:
    # "et nogenlunde ensartet udgangspunkt på ca. 15-20 procent" (L2189-2191)
    for groups in ({1}, {1, 2, 3}):
        value = share(count.curve(citizens, groups, 1, END))
        assert 0.15 - TOLERANCE <= value <= 0.20 + TOLERANCE


def test_group_1_reaches_70_and_the_whole_programme_50_percent_in_month_29(
    citizens: dict[str, Citizen],
) -> None:
    # "gruppe 1 har opnået ca. 70 pct. i virksomhedsforløb, mens de øvrige grupper opnår
    # omkring 50 pct." (L2193-2197); the other curve is the whole FSM group (L2185-2187).
    assert share(count.curve(citizens, {1}, 29, END)) == pytest.approx(0.70, abs=TOLERANCE)
    assert share(count.curve(citizens, {1, 2, 3}, 29, END)) == pytest.approx(0.50, abs=TOLERANCE)


def test_the_curve_rises_gradually(citizens: dict[str, Citizen]) -> None:
    curve = [share(count.curve(citizens, {1}, m, END)) for m in (1, 8, 15, 22, 29)]
    assert curve == sorted(curve)


def test_most_of_group_1_is_ever_in_virksomhedsforloeb(citizens: dict[str, Citizen]) -> None:
    # Table 4-4 mean 72 %, Table 4-3 median 78 % (L2480-2490, L2547)
    value = share(count.ever(citizens, 1, AS_OF))
    assert 0.72 - TOLERANCE <= value <= 0.78 + TOLERANCE


def test_afklaret_is_10_percent_of_group_1_and_74_percent_of_group_2(
    citizens: dict[str, Citizen],
) -> None:
    # "ca. 10 pct. af gruppe 1 ... ca. 74 pct. fra gruppe 2" (L2179-2183)
    assert share(count.afklaret(citizens, 1, AS_OF)) == pytest.approx(0.10, abs=TOLERANCE)
    assert share(count.afklaret(citizens, 2, AS_OF)) == pytest.approx(0.74, abs=TOLERANCE)


def test_ordinary_hours_come_to_about_a_third_of_group_1(citizens: dict[str, Citizen]) -> None:
    # Table 4-2 (L2364-2366): 37 / 31 / 29 % by municipality size; Table 4-4 mean 22 %.
    value = share(count.ever_hours(citizens, 1, AS_OF))
    assert 0.22 - TOLERANCE <= value <= 0.37 + TOLERANCE


# Twelve towns of 40-100k inhabitants, four of which the seed makes weak.
TOWNS = ("169", "173", "190", "217", "219", "230", "250", "270", "370", "430", "657", "661")


def test_four_weak_municipalities_miss_the_40_percent_criterion_and_the_rest_meet_it() -> None:
    # "kun fire kommuner, som ikke har nået målet om de 40 pct." (L2171-2173), judged on
    # the window April-June 2019 (the evaluation's register data run to May 2019, L3957).
    # A dozen towns of ~100 citizens each keep the counts large enough; single towns still
    # vary, so the weak and the rest are compared as pools.
    config = SimConfig(seed=SEED, citizens=1_200, municipalities=TOWNS)
    weak = {p.code for p in build_world(SEED, 1_200, TOWNS).profiles.values() if p.struggling}
    assert len(weak) == 4
    values = count.criterion(count.tally(generate(config)), date(2019, 6, 1))

    def pooled(codes: set[str]) -> float:
        return share((sum(values[c][0] for c in codes), sum(values[c][1] for c in codes)))

    assert pooled(weak) < 0.42
    assert pooled(set(TOWNS) - weak) > 0.55
    assert sum(num / den < 0.40 for num, den in values.values()) <= 6
