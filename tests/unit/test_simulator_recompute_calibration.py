"""The batch recompute of a full simulated run has the shape of the FSM evaluation (issue 5).

test_simulator_calibration checks the simulator with its own plain counter; this checks
what the platform shows: the simulator's traffic as the event store would hold it (invalid
events refused, exact duplicates stored once, retractions and corrections in), evaluated by
the indicator engine. Targets are from seeds/004 (Rambøll 2019) with their line numbers;
tolerance ±5 percentage points, as the issue asks.

"The others ≈ 50 %" is tested as the whole FSM group, groups 1-3 pooled: Figure 4-3a
compares group 1 "med hhv. hele 'Flere skal med'-gruppen og sammenligningsgruppen"
(L2185-2187), so "de øvrige grupper opnår omkring 50 pct." (L2195-2197) are those two
curves; the comparison group is outside the programme and not in our data. Groups 2 and
3 alone are at about 28 % (most of group 2 is afklaret to ressourceforløb or
førtidspension, which is no virksomhedsforløb mv.).

The run goes on to the recompute's day, 15 January 2020, not only to the programme data's
end (31 December 2019): month 29 of the earliest cohort (visited August 2017) is December
2019, whose ordinary hours eIndkomst reports around 10 January. A run cut at 31 December
leaves them unsent, and group 1's month 29 reads about 60 % as known then.

3,000 citizens: at month 29 only the August 2017 cohort has ended (about 470 in group 1,
850 in all), a standard error of about 2 points; over eight seeds every figure stayed
inside its band. About ten seconds.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date

import pytest

from kommunepuls.domain.evaluation import Count, CountKey, Counts, evaluate
from kommunepuls.domain.events import parse_event, to_stored
from kommunepuls.domain.records import StoredEvent
from kommunepuls.domain.strata import NATIONAL, national
from kommunepuls.simulator import SimConfig, generate

TODAY = date(2020, 1, 15)
SEED = 2024
CITIZENS = 3_000
TOLERANCE = 0.05
AFKLARET_PERIOD = "2019-12"
# Mid-programme: the programme ran August 2017 - August 2019 (seeds/004 L10, L297) and
# the evaluation's register data run to May 2019 (L3957).
CRITERION_PERIOD = "2019-06"


def stored_events(config: SimConfig) -> list[StoredEvent]:
    """The run's traffic as ingest would store it and the batch recompute read it."""
    events: list[StoredEvent] = []
    seen: set[str] = set()
    for emission in generate(config):
        envelope = emission.envelope
        # Ingest refuses invalid events and stores an event_id once (domain.md §3).
        if not emission.valid or envelope["event_id"] in seen:
            continue
        seen.add(envelope["event_id"])
        event = parse_event(envelope, today=emission.emit_at.date())
        citizen_id = hashlib.sha256(str(envelope["cpr"]).encode()).hexdigest()
        recorded_at = emission.emit_at.replace(tzinfo=UTC)
        events.append(
            to_stored(
                event, citizen_id=citizen_id, position=len(events) + 1, recorded_at=recorded_at
            )
        )
    return events


@pytest.fixture(scope="module")
def counts() -> Counts:
    config = SimConfig(seed=SEED, citizens=CITIZENS, end=TODAY)
    return evaluate(stored_events(config), TODAY)


@pytest.fixture(scope="module")
def nation(counts: Counts) -> Counts:
    return national(counts)


def pooled(nation: Counts, indicator: str, period: str, groups: tuple[int, ...]) -> Count:
    cells = [nation.get(CountKey(indicator, NATIONAL, period, g)) for g in groups]
    found = [c for c in cells if c is not None]
    assert len(found) == len(groups), f"{indicator} {period} missing for some of {groups}"
    return Count(sum(c.numerator for c in found), sum(c.denominator for c in found))


def share(count: Count) -> float:
    assert count.denominator > 50, "too few citizens to judge"
    return count.numerator / count.denominator


def curve(nation: Counts, m: int, groups: tuple[int, ...]) -> float:
    return share(pooled(nation, "fsm_virksomhedsforloeb_curve", f"m{m:02d}", groups))


def test_visitation_groups_are_55_34_11_percent(nation: Counts) -> None:
    # seeds/004 Fig 4-2, L2076-2119 (n = 25,461). Everyone ever visited to a group is
    # fsm_afklaret's denominator; a citizen counts once per municipality and group.
    visited = {
        g: pooled(nation, "fsm_afklaret", AFKLARET_PERIOD, (g,)).denominator for g in (1, 2, 3)
    }
    total = sum(visited.values())
    assert visited[1] / total == pytest.approx(0.55, abs=TOLERANCE)
    assert visited[2] / total == pytest.approx(0.34, abs=TOLERANCE)
    assert visited[3] / total == pytest.approx(0.11, abs=TOLERANCE)


def test_group_1_starts_at_15_to_20_percent_in_month_1(nation: Counts) -> None:
    # "et nogenlunde ensartet udgangspunkt på ca. 15-20 procent" (L2189-2191)
    assert 0.15 - TOLERANCE <= curve(nation, 1, (1,)) <= 0.20 + TOLERANCE


def test_group_1_reaches_70_percent_in_month_29(nation: Counts) -> None:
    # "gruppe 1 har opnået ca. 70 pct. i virksomhedsforløb" (L2195)
    assert curve(nation, 29, (1,)) == pytest.approx(0.70, abs=TOLERANCE)


def test_the_whole_programme_reaches_50_percent_in_month_29(nation: Counts) -> None:
    # "mens de øvrige grupper opnår omkring 50 pct." (L2195-2197): the whole FSM group,
    # groups 1-3 pooled from the engine's per-group counts (see the module docstring).
    assert curve(nation, 29, (1, 2, 3)) == pytest.approx(0.50, abs=TOLERANCE)


def test_afklaret_is_10_percent_of_group_1_and_74_percent_of_group_2(nation: Counts) -> None:
    # "ca. 10 pct. af gruppe 1 ... mens ca. 74 pct. fra gruppe 2" (L2179-2181)
    group_1 = share(pooled(nation, "fsm_afklaret", AFKLARET_PERIOD, (1,)))
    group_2 = share(pooled(nation, "fsm_afklaret", AFKLARET_PERIOD, (2,)))
    assert group_1 == pytest.approx(0.10, abs=TOLERANCE)
    assert group_2 == pytest.approx(0.74, abs=TOLERANCE)


def test_about_four_municipalities_miss_the_40_percent_criterion(counts: Counts) -> None:
    # "Der er dog kun fire kommuner, som ikke har nået målet om de 40 pct." (L2171-2173)
    # Only municipalities whose count is publishable (denominator >= 5, domain.md §4): at
    # a simulated eighth of the real population a smaller one turns on a single citizen.
    # The simulator makes four weak; a few others miss by chance, so 2-8.
    judged = {
        key.municipality: count
        for key, count in counts.items()
        if key.indicator == "fsm_virksomhedsforloeb"
        and key.period == CRITERION_PERIOD
        and count.denominator >= 5
    }
    assert len(judged) > 60, "too few municipalities to judge"
    missing = [m for m, c in judged.items() if c.numerator / c.denominator < 0.40]
    assert 2 <= len(missing) <= 8, sorted(missing)
