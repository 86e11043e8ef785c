"""From citizens' stored events to their facts: fold, then the cells they count in.

The cohorts service holds no citizen state of its own: the event store is the per-citizen
index, so a restarted or rebalanced worker, or an emptied broker, loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

import asyncpg

from kommunepuls.domain.citizen import fold
from kommunepuls.domain.evaluation import contributions
from kommunepuls.domain.records import StoredEvent
from kommunepuls.facts import Fact, pack_all
from kommunepuls.segments import partition_for
from kommunepuls.storage.event_store import iter_all, read_citizens


def fact_for(citizen_id: str, events: list[StoredEvent], today: date) -> Fact:
    cells = pack_all(contributions(fold(events), today)) if events else ()
    position = max((e.position for e in events), default=0)
    return Fact(citizen_id, position, today.toordinal(), cells)


async def facts_for_citizens(pool: asyncpg.Pool, citizen_ids: Iterable[str],
                             today: date) -> list[Fact]:
    by_citizen = await read_citizens(pool, sorted(set(citizen_ids)))
    return [fact_for(c, events, today) for c, events in by_citizen.items()]


async def sweep(pool: asyncpg.Pool, partitions: set[int], count: int,
                today: date) -> list[Fact]:
    """Re-evaluate every citizen of the given partitions (the day moved on).

    Reads the store in position order and folds per citizen at the end: memory grows
    with the partition's events, which is fine at today's volumes (see BENCHMARKS.md).
    """
    by_citizen: dict[str, list[StoredEvent]] = {}
    async for batch in iter_all(pool):
        for event in batch:
            if partition_for(event.citizen_id, count) in partitions:
                by_citizen.setdefault(event.citizen_id, []).append(event)
    return [fact_for(c, events, today) for c, events in by_citizen.items()]


def by_partition(facts: Iterable[Fact], count: int) -> Iterator[tuple[int, list[Fact]]]:
    grouped: dict[int, list[Fact]] = {}
    for fact in facts:
        grouped.setdefault(partition_for(fact.citizen_id, count), []).append(fact)
    yield from sorted(grouped.items())
