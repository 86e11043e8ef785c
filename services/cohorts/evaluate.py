"""From citizens' stored events to their facts: fold, then the cells they count in.

The cohorts service holds no citizen state of its own: the event store is the per-citizen
index, so a restarted or rebalanced worker, or an emptied broker, loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import date

import asyncpg

from kommunepuls.domain.citizen import UNREAD_TYPES, fold
from kommunepuls.domain.records import StoredEvent
from kommunepuls.facts import Fact, packed_contributions
from kommunepuls.segments import partition_for
from kommunepuls.storage.event_store import History, iter_all, read_histories


def fact_for(citizen_id: str, events: list[StoredEvent], today: date,
             through: int | None = None) -> Fact:
    """The citizen's fact; `through`: its highest stored position, if `events` may leave
    out types the fold does not read (default: the highest of `events`)."""
    cells = packed_contributions(fold(events), today) if events else ()
    if through is None:
        through = max((e.position for e in events), default=0)
    return Fact(citizen_id, through, today.toordinal(), cells)


# Histories are read and folded this many citizens at a time, the next chunk's read running
# while this one is folded: memory is bounded by two chunks (catching up, a batch can name
# every citizen of every partition: read at once, their events took the worker from ~310 to
# ~500 MB), PostgreSQL works while the worker folds, and each chunk's facts can leave
# before the next is folded, so the metrics worker counts meanwhile.
CITIZENS_PER_READ = 500
FOLDS_BETWEEN_YIELDS = 10  # ~7 ms of folding


async def iter_facts(pool: asyncpg.Pool, citizen_ids: Iterable[str],
                     today: date) -> AsyncIterator[tuple[list[Fact], bool]]:
    """The citizens' facts, a chunk at a time, each with whether it is the last (no
    citizens: one empty last chunk)."""
    ids = sorted(set(citizen_ids))
    chunks = [ids[i:i + CITIZENS_PER_READ] for i in range(0, len(ids), CITIZENS_PER_READ)]
    if not chunks:
        yield [], True
        return
    reading: asyncio.Future[dict[str, History]] | None = None
    try:
        for i, chunk in enumerate(chunks):
            by_citizen = await (reading or read_histories(pool, chunk, UNREAD_TYPES))
            reading = (asyncio.ensure_future(read_histories(pool, chunks[i + 1], UNREAD_TYPES))
                       if i + 1 < len(chunks) else None)
            found = []
            for n, (citizen, (through, events)) in enumerate(by_citizen.items()):
                if n % FOLDS_BETWEEN_YIELDS == 0:
                    # Let the event loop take in the next chunk's rows meanwhile: folding
                    # without a pause left them in the socket, and PostgreSQL, its buffers
                    # full, waited for the fold to end (the worker was ~40 % idle).
                    await asyncio.sleep(0)
                found.append(fact_for(citizen, events, today, through))
            yield found, reading is None
    finally:
        if reading is not None:  # stopped early: no read left behind
            reading.cancel()


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
