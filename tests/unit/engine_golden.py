"""The indicator engine's results on simulated traffic, as a frozen golden file.

The engine (fold + contributions) is the stream's hot path and gets optimised; every
optimisation must leave every cell of every citizen unchanged. `tests/data/engine_golden.json`
holds what the engine computed before the optimisations (git revision BASELINE), and
test_engine_equivalence asserts the current engine still computes exactly that.

The file also holds a fingerprint of the simulated traffic. When the simulator changes,
regenerate the file from the BASELINE engine, so that it still pins the old results:

    .venv/bin/python -m tests.unit.engine_golden --engine b62da3f

When a rule changes on purpose, regenerate it from the current engine (no --engine) and
say so in the commit.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from kommunepuls.domain import citizen, evaluation
from kommunepuls.domain.evaluation import Cell, Counts
from kommunepuls.domain.events import parse_event, to_stored
from kommunepuls.domain.records import StoredEvent
from kommunepuls.simulator.generator import SimConfig, generate

BASELINE = "b62da3f"  # the engine before the optimisations of fold and contributions
GOLDEN = Path(__file__).parents[1] / "data" / "engine_golden.json"
CITIZENS = 300
SEEDS = (1, 2, 3)
# Before, during and after the programme's run (the simulator ends 2019-12-31); a mid-month
# today exercises the unfinished current month, 30 June a month's last day.
TODAYS = (date(2018, 2, 15), date(2019, 6, 30), date(2020, 1, 15))
# The engine's modules; everything else (records, events) is shared with an old engine.
ENGINE = ("catalogue", "citizen", "citizen_view", "effective", "evaluation", "intervals", "periods")


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


def traffic_fingerprint(events: Iterable[StoredEvent]) -> str:
    """A short fingerprint of simulated traffic: the golden results hold for this traffic."""
    digest = hashlib.sha256()
    for e in events:
        data = json.dumps(dict(e.data), sort_keys=True, default=str)
        line = f"{e.position}|{e.event_id}|{e.citizen_id}|{e.type}|{e.occurred_at}|{data}\n"
        digest.update(line.encode())
    return digest.hexdigest()[:16]


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


def load_engine(revision: str) -> tuple[ModuleType, ModuleType]:
    """(citizen, evaluation) modules of the engine as of a git revision, importable next to
    the current ones (their own imports rewritten to a package of their own)."""
    package = "engine_" + re.sub(r"\W", "_", revision)
    root = Path(tempfile.mkdtemp(prefix="engine-"))
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    own = re.compile(rf"kommunepuls\.domain\.({'|'.join(ENGINE)})\b")
    for module in ENGINE:
        source = subprocess.run(
            ["git", "show", f"{revision}:kommunepuls/domain/{module}.py"],
            capture_output=True,
            text=True,
            check=True,
            cwd=GOLDEN.parent,
        ).stdout
        (root / package / f"{module}.py").write_text(own.sub(rf"{package}.\1", source))
    sys.path.insert(0, str(root))
    try:
        modules = (
            importlib.import_module(f"{package}.citizen"),
            importlib.import_module(f"{package}.evaluation"),
        )
    finally:
        sys.path.remove(str(root))
        shutil.rmtree(root)
    return modules


MUNICIPALITIES = ("851", "461", "751")
KINDS = ("virksomhedspraktik", "loentilskud_privat", "nytteindsats", "fleksjob", "mentor")
KINDS_OF_EVENT = (
    *("visitation",) * 4,
    *("tilbud_started", "tilbud_ended", "ordinary_hours") * 2,
    "visitation_ended", "afklaret", "relocated", "exemption_started", "exemption_ended",
    "samtale",
)  # fmt: skip


def random_history(rng: random.Random, n: int) -> list[StoredEvent]:
    """One citizen's events, dense with the engine's edge cases: same-day events, spells
    ending before they start or after today, re-sent and retracted events, moves, other
    programmes, groups and municipalities, subsidised and exact-threshold hours."""
    citizen_id = f"{n:064x}"
    events: list[StoredEvent] = []
    first_day = date(2017, 6, 1) + timedelta(days=rng.randrange(600))

    def add(event_type: str, on: date, **data: object) -> None:
        events.append(
            StoredEvent(
                position=n * 1000 + len(events) * rng.choice((1, 2)),
                event_id=f"{n}-{len(events)}",
                citizen_id=citizen_id,
                municipality=rng.choice(MUNICIPALITIES),
                type=event_type,
                occurred_at=on,
                recorded_at=datetime(2020, 1, 1, tzinfo=UTC),
                data=data,
            )
        )

    for _ in range(rng.randrange(1, 40)):
        on = first_day + timedelta(days=rng.choice((0, 0, 1, 5, 20, 31, 45, 90, 200, 500)))
        kind = rng.choice(KINDS_OF_EVENT)
        if kind == "visitation":
            programme = rng.choice(("flere_skal_med", "flere_skal_med", "other"))
            group = rng.choice((1, 1, 2, 3, 6, None))
            add(kind, on, programme=programme, group=group, target_group=rng.choice("ab"))
        elif kind == "visitation_ended":
            add(kind, on, programme="flere_skal_med")
        elif kind == "relocated":
            add(kind, on, to_municipality=rng.choice(MUNICIPALITIES))
        elif kind == "tilbud_started":
            tilbud_id, tilbud_kind = f"T{rng.randrange(3)}", rng.choice(KINDS)
            add(kind, on, tilbud_id=tilbud_id, kind=tilbud_kind, cvr=rng.choice(("1", None)))
        elif kind == "tilbud_ended":
            add(kind, on, tilbud_id=f"T{rng.randrange(3)}")
        elif kind == "ordinary_hours":
            hours = rng.choice((0, 0.5, 129.5, 130, 160))
            month = f"{on.year:04d}-{on.month:02d}"
            add(kind, on, month=month, hours=hours, cvr=rng.choice(("1", "2", None)))
        else:  # afklaret, exemptions, samtale: what they say does not matter here
            add(kind, on)
    for target in rng.sample(events, k=min(len(events), rng.choice((0, 0, 1, 2)))):
        if rng.random() < 0.5:
            events.append(dataclasses.replace(target, position=target.position + 500))
        else:
            add("event_retracted", target.occurred_at, event_id=target.event_id)
    rng.shuffle(events)
    return events


def variant_catalogue(catalogue: Any) -> tuple[Any, ...]:
    """A catalogue module's indicators plus one per population x condition, with other
    groups, windows and validity: every way the engine can be asked."""
    base = catalogue.CATALOGUE[0]
    variants = [
        dataclasses.replace(
            base,
            id=f"variant_{population.value}_{condition.value}",
            population=population,
            condition=condition,
            groups=(1, 2, 3, 6) if i % 2 else (1,),
            window_months=(1, 3, 29)[i % 3],
            min_hours=(None, 130)[i % 2],
            valid_from=date(2018, 3, 1) if i % 2 else base.valid_from,
            valid_to=date(2019, 2, 15) if i % 3 == 1 else None,
        )
        for i, (population, condition) in enumerate(
            (p, c) for p in catalogue.Population for c in catalogue.Condition
        )
    ]
    return (*catalogue.CATALOGUE, *variants)


def compute(
    seed: int, today: date, engine: tuple[Any, Any] = (citizen, evaluation)
) -> dict[str, Any]:
    """Counts per cell and a digest of each citizen's contributions."""
    fold, engine_evaluation = engine[0].fold, engine[1]
    events = simulated_events(seed)
    digests = {
        citizen_id[:16]: cells_digest(engine_evaluation.contributions(fold(history), today))
        for citizen_id, history in sorted(by_citizen(events).items())
    }
    counts = compact_counts(engine_evaluation.evaluate(events, today))
    return {"counts": counts, "citizens": digests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", help=f"git revision of the engine to run, e.g. {BASELINE}")
    args = parser.parse_args()
    engine = load_engine(args.engine) if args.engine else (citizen, evaluation)
    traffic = {f"seed={seed}": traffic_fingerprint(simulated_events(seed)) for seed in SEEDS}
    runs = {
        run_key(seed, today): compute(seed, today, engine) for seed in SEEDS for today in TODAYS
    }
    golden = {"citizens": CITIZENS, "traffic": traffic, "runs": runs}
    text = json.dumps(golden, separators=(",", ":"), sort_keys=True)
    GOLDEN.write_text(text + "\n")
    print(f"wrote {GOLDEN} ({len(text) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
