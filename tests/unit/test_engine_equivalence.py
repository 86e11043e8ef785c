"""The optimised engine computes exactly what the engine computed before it was optimised.

`tests/data/engine_golden.json` (see `engine_golden.py`) holds, for 300 simulated citizens
of three seeds on three days, every count and a digest of every citizen's cells as the
straightforward engine computed them. Faults are on, so duplicates, late events,
corrections and retractions are in the traffic.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from typing import Any

import pytest

from kommunepuls.domain.citizen import fold
from kommunepuls.domain.evaluation import contributions, evaluate
from tests.unit.engine_golden import (
    GOLDEN,
    SEEDS,
    TODAYS,
    by_citizen,
    cells_digest,
    compact_counts,
    run_key,
    simulated_events,
)


@cache
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


RUNS = [(seed, today) for seed in SEEDS for today in TODAYS]


@pytest.mark.parametrize(("seed", "today"), RUNS, ids=[run_key(s, t) for s, t in RUNS])
def test_every_count_is_as_the_golden_run_computed_it(seed: int, today: date) -> None:
    expected = golden()["runs"][run_key(seed, today)]["counts"]
    actual = compact_counts(evaluate(simulated_events(seed), today))
    assert actual.keys() == expected.keys()
    differing = [series for series in expected if actual[series] != expected[series]]
    assert not differing, f"{len(differing)} series differ, e.g. {differing[:3]}"


@pytest.mark.parametrize("seed", SEEDS)
def test_every_citizens_cells_are_as_the_golden_run_computed_them(seed: int) -> None:
    citizens = by_citizen(simulated_events(seed))
    states = {citizen_id[:16]: fold(events) for citizen_id, events in citizens.items()}
    # Newest day first and each state asked about every day in turn: whatever the engine
    # caches between calls must not leak from one day or citizen into another.
    for today in sorted(TODAYS, reverse=True):
        expected = golden()["runs"][run_key(seed, today)]["citizens"]
        actual = {cid: cells_digest(contributions(s, today)) for cid, s in states.items()}
        assert actual == expected


def test_the_golden_run_covers_the_engines_cases() -> None:
    # A golden file that counts nothing would prove nothing: every indicator, numerators
    # as well as denominators, and more than one municipality must be in it.
    runs = golden()["runs"]
    series = {key for run in runs.values() for key in run["counts"]}
    assert {key.split()[0] for key in series} == {
        "fsm_virksomhedsforloeb",
        "fsm_virksomhedsforloeb_ever",
        "fsm_ordinaere_timer",
        "fsm_30_timer",
        "fsm_afklaret",
        "fsm_virksomhedsforloeb_curve",
    }
    assert len({key.split()[1] for key in series}) > 50
    counts = " ".join(run["counts"][key] for run in runs.values() for key in run["counts"])
    assert ":0/" in counts and ":1/" in counts
