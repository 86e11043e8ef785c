"""Micro-benchmark: fold + contributions per citizen, and bytes of state per citizen.

    .venv/bin/python bench/fold.py [citizens]

The typical citizen has 30 events over two years in FSM group 1: a visitation, a
regrouping, a caseworker, samtaler, four tilbud (eight events), monthly ordinary-hours
reports, an exemption and an afklaret. Memory is measured with tracemalloc as what
`citizens` folded states keep alive once their events are gone, divided by `citizens`;
the shared caches (days, period labels) are included, amortised.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from kommunepuls.domain.citizen import FSM, CitizenState, fold
from kommunepuls.domain.evaluation import contributions
from kommunepuls.domain.records import StoredEvent

TODAY = date(2020, 11, 15)


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
    """Best of five runs, in µs per call (the best run is the least disturbed one)."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best * 1e6


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


def main() -> None:
    citizens = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    events = typical_citizen(7)
    state = fold(events)
    cells = contributions(state, TODAY)
    repeat = 2000
    fold_us = per_call_us(lambda: fold(events), repeat)
    contrib_us = per_call_us(lambda: contributions(state, TODAY), repeat)
    print(f"typical citizen: {len(events)} events, {len(cells)} cells")
    print(f"fold:               {fold_us:7.1f} µs  ({fold_us / len(events):.1f} µs/event)")
    print(f"contributions:      {contrib_us:7.1f} µs")
    print(f"fold+contributions: {fold_us + contrib_us:7.1f} µs")
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


if __name__ == "__main__":
    main()
