"""The optimised engine computes exactly what the engine computed before it was optimised.

`tests/data/engine_golden.json` (see `engine_golden.py`) holds, for 300 simulated citizens
of three seeds on three days, every count and a digest of every citizen's cells as the
engine before the optimisations computed them. Faults are on, so duplicates, late
events, corrections and retractions are in the traffic.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest

from kommunepuls.domain import catalogue
from kommunepuls.domain.citizen import CitizenState, fold
from kommunepuls.domain.evaluation import contributions, evaluate
from tests.unit.engine_golden import (
    BASELINE,
    GOLDEN,
    SEEDS,
    TODAYS,
    by_citizen,
    cells_digest,
    compact_counts,
    load_engine,
    random_history,
    run_key,
    simulated_events,
    traffic_fingerprint,
    variant_catalogue,
)


@cache
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


def traffic(seed: int) -> tuple[Any, ...]:
    """The seed's simulated traffic, if it is what the golden run saw."""
    if traffic_fingerprint(simulated_events(seed)) != golden()["traffic"][f"seed={seed}"]:
        pytest.fail(
            "the simulator's traffic changed since the golden run: regenerate the golden "
            f"file from the engine before the optimisations, `.venv/bin/python -m "
            f"tests.unit.engine_golden --engine {BASELINE}`"
        )
    return simulated_events(seed)


RUNS = [(seed, today) for seed in SEEDS for today in TODAYS]


@pytest.mark.parametrize(("seed", "today"), RUNS, ids=[run_key(s, t) for s, t in RUNS])
def test_every_count_is_as_the_golden_run_computed_it(seed: int, today: date) -> None:
    expected = golden()["runs"][run_key(seed, today)]["counts"]
    actual = compact_counts(evaluate(traffic(seed), today))
    assert actual.keys() == expected.keys()
    differing = [series for series in expected if actual[series] != expected[series]]
    assert not differing, f"{len(differing)} series differ, e.g. {differing[:3]}"


@pytest.mark.parametrize("seed", SEEDS)
def test_every_citizens_cells_are_as_the_golden_run_computed_them(seed: int) -> None:
    citizens = by_citizen(traffic(seed))
    states = {citizen_id[:16]: fold(events) for citizen_id, events in citizens.items()}
    # Newest day first and each state asked about every day in turn: whatever the engine
    # caches between calls must not leak from one day or citizen into another.
    for today in sorted(TODAYS, reverse=True):
        expected = golden()["runs"][run_key(seed, today)]["citizens"]
        actual = {cid: cells_digest(contributions(s, today)) for cid, s in states.items()}
        assert actual == expected


def test_folded_records_are_the_dataclasses_they_say_they_are() -> None:
    # The fold makes its records with a fast constructor; they must be indistinguishable
    # from records made by the dataclasses' own __init__: type, equality, hash, repr.
    states = [fold(events) for events in by_citizen(traffic(1)).values()]
    records = [
        record
        for state in states
        for field in dataclasses.fields(CitizenState)
        if isinstance(getattr(state, field.name), tuple)
        for record in getattr(state, field.name)
    ]
    assert len({type(record) for record in records}) >= 5
    for record in [*states, *records]:
        again = dataclasses.replace(record)
        assert type(again) is type(record)
        assert again == record and hash(again) == hash(record) and repr(again) == repr(record)
    with pytest.raises(dataclasses.FrozenInstanceError):
        records[0].start = date(2020, 1, 1)  # type: ignore[misc]


def test_the_engine_agrees_with_the_baseline_on_random_histories() -> None:
    # The golden run is realistic traffic; this is the odd cases, denser: the engine as it
    # was before the optimisations (loaded from git) against the current one, on random
    # histories, on days across the programme, for every population x condition.
    try:
        old_citizen, old_evaluation = load_engine(BASELINE)
    except subprocess.CalledProcessError:
        pytest.skip(f"git revision {BASELINE} is not in this checkout")
    old_catalogue = variant_catalogue(sys.modules[old_evaluation.__package__ + ".catalogue"])
    new_catalogue = variant_catalogue(catalogue)
    rng = random.Random(2024)
    days = [date(2017, 7, 20) + timedelta(days=97 * k) for k in range(12)]
    for n in range(250):
        history = random_history(rng, n)
        old_state, new_state = old_citizen.fold(history), fold(history)
        assert repr(old_state) == repr(new_state)
        for today in days[n % 3 :: 3]:
            old = old_evaluation.contributions(old_state, today, old_catalogue)
            new = contributions(new_state, today, new_catalogue)
            assert {tuple(cell) for cell in old} == set(new), (n, today)


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
