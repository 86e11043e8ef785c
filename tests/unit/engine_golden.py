"""The indicator engine's results on simulated traffic, as a frozen golden file.

The engine (fold + contributions) is the stream's hot path and gets optimised; every
optimisation must leave every cell of every citizen unchanged. `tests/data/engine_golden.json`
holds what the engine computed before the optimisations, and test_engine_equivalence
asserts the current engine still computes exactly that.

Regenerate only when a rule changes on purpose (and say so in the commit):

    .venv/bin/python -m tests.unit.engine_golden
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, date
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kommunepuls.domain.citizen import fold
from kommunepuls.domain.evaluation import Cell, Counts, contributions, evaluate
from kommunepuls.domain.events import parse_event, to_stored
from kommunepuls.domain.records import StoredEvent
from kommunepuls.simulator.generator import SimConfig, generate

GOLDEN = Path(__file__).parents[1] / "data" / "engine_golden.json"
CITIZENS = 300
SEEDS = (1, 2, 3)
# Before, during and after the programme's run (the simulator ends 2019-12-31); a mid-month
# today exercises the unfinished current month, 30 June a month's last day.
TODAYS = (date(2018, 2, 15), date(2019, 6, 30), date(2020, 1, 15))


@cache
def simulated_events(seed: int, citizens: int = CITIZENS) -> tuple[StoredEvent, ...]:
    """The simulator's valid traffic (late, duplicate and retracted events included) as the
    event store would hand it to the core; the citizen_id is a hash of the CPR."""
    stored: list[StoredEvent] = []
    for emission in generate(SimConfig(seed=seed, citizens=citizens)):
        if not emission.valid:
            continue
        try:
            event = parse_event(emission.envelope, today=emission.emit_at.date())
        except ValidationError:
            continue
        cpr = str(emission.envelope["cpr"])
        stored.append(
            to_stored(
                event,
                citizen_id=hashlib.sha256(cpr.encode()).hexdigest(),
                position=len(stored) + 1,
                recorded_at=emission.emit_at.replace(tzinfo=UTC),
            )
        )
    return tuple(stored)


def by_citizen(events: Iterable[StoredEvent]) -> dict[str, list[StoredEvent]]:
    grouped: dict[str, list[StoredEvent]] = {}
    for event in events:
        grouped.setdefault(event.citizen_id, []).append(event)
    return grouped


def cells_digest(cells: Iterable[Cell]) -> str:
    """A short, order-independent fingerprint of one citizen's cells."""
    lines = sorted("|".join(map(str, cell)) for cell in cells)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def run_key(seed: int, today: date) -> str:
    return f"seed={seed} today={today.isoformat()}"


def compact_counts(counts: Counts) -> dict[str, str]:
    """Counts as {"indicator municipality group": "period:numerator/denominator ..."}, sorted:
    a tenth of the size of one JSON row per cell, and still readable."""
    rows: dict[str, list[tuple[str, int, int]]] = {}
    for key, count in counts.items():
        series = f"{key.indicator} {key.municipality} {key.group}"
        rows.setdefault(series, []).append((key.period, count.numerator, count.denominator))
    return {
        series: " ".join(f"{period}:{n}/{d}" for period, n, d in sorted(cells))
        for series, cells in sorted(rows.items())
    }


def compute(seed: int, today: date) -> dict[str, Any]:
    """Counts per cell and a digest of each citizen's contributions."""
    events = simulated_events(seed)
    digests = {
        citizen_id[:16]: cells_digest(contributions(fold(citizen_events), today))
        for citizen_id, citizen_events in sorted(by_citizen(events).items())
    }
    return {"counts": compact_counts(evaluate(events, today)), "citizens": digests}


def main() -> None:
    runs = {run_key(seed, today): compute(seed, today) for seed in SEEDS for today in TODAYS}
    text = json.dumps({"citizens": CITIZENS, "runs": runs}, separators=(",", ":"), sort_keys=True)
    GOLDEN.write_text(text + "\n")
    print(f"wrote {GOLDEN} ({len(text) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
