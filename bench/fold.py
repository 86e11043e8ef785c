"""Micro-benchmark: fold + contributions per citizen, and bytes of state per citizen.

    .venv/bin/python -m bench.fold [--citizens N] [--baseline [REV]]

`--baseline REV` also times the engine as it was at git revision REV (default: b62da3f,
before the engine was optimised; its domain modules loaded from git next to the current
ones), the two taking turns in the same process so that a shared, noisy machine slows
both alike: the speed-up is the figure to trust, the absolute times less so. Times are
this process's CPU time.

Workloads: the typical citizen below; the simulator's 300 citizens of seed 5 as the event
store holds them (faults on: late events, corrections, retractions; duplicate sends
rejected by the store's uniqueness), whose histories are mostly samtaler; and the same
with the duplicate sends kept, as a replayed segment could bring them.

The typical citizen has 30 events over two years in FSM group 1: a visitation, a
regrouping, a caseworker, samtaler, four tilbud (eight events), monthly ordinary-hours
reports, an exemption and an afklaret. Memory is measured with tracemalloc as what
`citizens` folded states keep alive once their events are gone, divided by `citizens`;
the shared caches (days, period labels) are included, amortised. The metrics worker's
state (services/metrics/state.py) is measured the same way: facts for `citizens` distinct
pseudonyms applied to a PartitionState, beside the tuples of ints it held before.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kommunepuls.domain import citizen, evaluation
from kommunepuls.domain.citizen import FSM, CitizenState, fold
from kommunepuls.domain.evaluation import contributions
from kommunepuls.domain.records import StoredEvent
from kommunepuls.facts import Fact, pack_all
from services.metrics.state import PartitionState
from tests.unit.engine_golden import BASELINE, by_citizen, load_engine, simulated_events

TODAY = date(2020, 11, 15)
SIMULATED_TODAY = date(2020, 1, 15)


def typical_citizen(n: int) -> list[StoredEvent]:
    citizen_id = f"{n:064x}"  # the length of a hex HMAC-SHA256 pseudonym
    position = n * 100
    events: list[StoredEvent] = []

    def add(type_: str, on: date, **data: object) -> None:
        nonlocal position
        position += 1
        events.append(
            StoredEvent(
                position=position,
                event_id=f"{citizen_id[:8]}-{position}",
                citizen_id=citizen_id,
                municipality="851",
                type=type_,
                occurred_at=on,
                recorded_at=datetime(2020, 1, 1, tzinfo=UTC),
                data=data,
            )
        )

    start = date(2018, 11, 1) + timedelta(days=n % 28)
    add("visitation", start, programme=FSM, target_group="kontanthjaelp_aktivitetsparat", group=6)
    add("visitation", start + timedelta(days=40), programme=FSM,
        target_group="kontanthjaelp_aktivitetsparat", group=1)  # fmt: skip
    add("caseworker_assigned", start, caseworker_id=f"jf-{n % 40}")
    for k in range(3):
        add("samtale", start + timedelta(days=30 * k + 3), form="personal", held=True,
            kind="ordinary")  # fmt: skip
    kinds = ("virksomhedspraktik", "mentor", "loentilskud_privat", "ordinaer_uddannelse")
    for k, kind in enumerate(kinds):
        first = start + timedelta(days=60 + 120 * k)
        add("tilbud_started", first, tilbud_id=f"T-{n}-{k}", kind=kind, cvr="12345674")
        add("tilbud_ended", first + timedelta(days=55), tilbud_id=f"T-{n}-{k}")
    for k in range(14):
        month_first = date(2019 + (k + 1) // 12, (k + 1) % 12 + 1, 1)
        month = f"{month_first.year:04d}-{month_first.month:02d}"
        add("ordinary_hours", month_first + timedelta(days=40), month=month, hours=12 * (k % 4))
    add("exemption_started", start + timedelta(days=200), reason="sygdom")
    add("exemption_ended", start + timedelta(days=230), reason="sygdom")
    add("afklaret", start + timedelta(days=690), outcome="job")
    return events


def per_call_us(fn: Callable[[], object], repeat: int) -> float:
    """One run of `repeat` calls, in µs of this process's CPU time per call (on a shared
    machine, wall-clock time also counts the time other processes had the CPU)."""
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t0) / repeat * 1e6


def as_stored(history: list[StoredEvent]) -> list[StoredEvent]:
    """The history without the duplicate sends the event store would have refused."""
    seen: set[str] = set()
    kept = []
    for event in history:
        if event.event_id not in seen:
            seen.add(event.event_id)
            kept.append(event)
    return kept


def time_engines(
    engines: dict[str, tuple[Any, Any]], workloads: dict[str, tuple[list[list[StoredEvent]], date]]
) -> dict[tuple[str, str, str], float]:
    """Best of five µs per citizen for fold and contributions, engines taking turns."""
    best: dict[tuple[str, str, str], float] = {}
    for workload, (histories, today) in workloads.items():
        repeat = max(1, 2000 // len(histories))
        for _ in range(5):
            for engine, (citizen_module, evaluation_module) in engines.items():
                engine_fold = citizen_module.fold
                engine_contributions = evaluation_module.contributions
                states = [engine_fold(h) for h in histories]

                def fold_all(f: Any = engine_fold, h: list[Any] = histories) -> None:
                    for history in h:
                        f(history)

                def contribute_all(
                    c: Any = engine_contributions, s: Any = states, t: date = today
                ) -> None:
                    for state in s:
                        c(state, t)

                for what, fn in (("fold", fold_all), ("contributions", contribute_all)):
                    us = per_call_us(fn, repeat) / len(histories)
                    key = (workload, engine, what)
                    best[key] = min(best.get(key, us), us)
    return best


def state_bytes(make_events: Callable[[int], list[StoredEvent]], citizens: int) -> float:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    batches = [make_events(n) for n in range(citizens)]
    states: list[CitizenState] = [fold(events) for events in batches]
    del batches
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(states) == citizens
    return held / citizens


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=20_000, help="for the memory figures")
    parser.add_argument("--baseline", nargs="?", const=BASELINE, help="git revision to compare")
    args = parser.parse_args(argv)
    typical = typical_citizen(7)
    cells = contributions(fold(typical), TODAY)
    with_duplicates = list(by_citizen(simulated_events(5)).values())
    simulated = [as_stored(history) for history in with_duplicates]
    print(f"typical citizen: {len(typical)} events, {len(cells)} cells; simulated: "
          f"{len(simulated)} citizens, {sum(map(len, simulated)) / len(simulated):.1f} "
          "events each")  # fmt: skip
    engines = {"current": (citizen, evaluation)}
    if args.baseline:
        engines = {args.baseline: load_engine(args.baseline), **engines}
    workloads = {
        "typical": ([typical], TODAY),
        "simulated": (simulated, SIMULATED_TODAY),
        "+dupes": (with_duplicates, SIMULATED_TODAY),
    }
    best = time_engines(engines, workloads)
    print("µs per citizen, best of 5" + (", engines taking turns" if args.baseline else ""))
    print(f"{'workload':10} {'engine':>10} {'fold':>8} {'contrib':>8} {'both':>8}")
    for workload in workloads:
        for engine in engines:
            f, c = best[workload, engine, "fold"], best[workload, engine, "contributions"]
            print(f"{workload:10} {engine:>10} {f:8.1f} {c:8.1f} {f + c:8.1f}")
        if args.baseline:
            old = [best[workload, args.baseline, w] for w in ("fold", "contributions")]
            new = [best[workload, "current", w] for w in ("fold", "contributions")]
            print(f"{workload:10} {'speed-up':>10} {old[0] / new[0]:7.1f}x {old[1] / new[1]:7.1f}x "
                  f"{sum(old) / sum(new):7.1f}x")  # fmt: skip
    state_figures(args.citizens)


def state_figures(citizens: int) -> None:
    typical = state_bytes(typical_citizen, citizens)
    print(f"state, typical:     {typical:7.0f} B/citizen -> {typical:.0f} MB per million")
    minimal = state_bytes(lambda n: typical_citizen(n)[:1], citizens)
    print(f"state, visited only:{minimal:7.0f} B/citizen -> {minimal:.0f} MB per million")
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kept = [contributions(fold(typical_citizen(n)), TODAY) for n in range(2000)]
    cells_bytes = (tracemalloc.get_traced_memory()[0] - base) / len(kept)
    tracemalloc.stop()
    # What keeping every citizen's previous contributions in memory would cost.
    print(f"contributions kept: {cells_bytes:7.0f} B/citizen")
    metrics_state_figures(citizens)


def metrics_state_bytes(facts: list[Fact]) -> tuple[float, float]:
    """Bytes per citizen the metrics worker's PartitionState keeps (citizens' cells only,
    then with the totals too), and the same for a dict of cell tuples, as it was."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    state = PartitionState(0)
    for fact in facts:
        state.apply(fact)
    state.clean()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    # The representation before: citizen_id -> (position, day, cells as a tuple of ints).
    sample = facts[:20_000]  # ~10 kB a citizen: a sample is enough
    as_tuples = {f.citizen_id: (f.position, f.day, tuple(int(str(c)) for c in f.cells))
                 for f in sample}
    tuples = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(state.citizens) == len(facts) and len(as_tuples) == len(sample)
    return held / len(facts), tuples / len(sample)


def metrics_state_figures(citizens: int) -> None:
    # Facts as cohorts sends them, for distinct pseudonyms (64 hex digits, like HMAC-SHA256).
    for name, make, today in (
        ("typical", typical_citizen, TODAY),
        ("simulated", None, SIMULATED_TODAY),
        ("typical, today 2026", typical_citizen, date(2026, 11, 28)),
    ):
        if make is None:
            histories = [as_stored(h) for h in by_citizen(simulated_events(5)).values()]
            cells = [pack_all(contributions(fold(h), today)) for h in histories]
        else:
            cells = [pack_all(contributions(fold(make(7)), today))]
        facts = [Fact(f"{n:064x}", 1000 + n, today.toordinal(), cells[n % len(cells)])
                 for n in range(citizens)]
        state, tuples = metrics_state_bytes(facts)
        mean = sum(map(len, cells)) / len(cells)
        print(f"metrics state, {name} ({mean:.0f} cells): {state:6.0f} B/citizen -> "
              f"{state:.0f} MB per million (cell tuples: {tuples:.0f} B)")


if __name__ == "__main__":
    main()
