"""From citizens' stored events to their facts: fold, then the cells they count in.

The cohorts service holds no citizen state of its own: the event store is the per-citizen
index, so a restarted or rebalanced worker, or an emptied broker, loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from contextlib import aclosing
from datetime import date

import asyncpg

from kommunepuls.domain.citizen import UNREAD_TYPES, fold
from kommunepuls.domain.records import StoredEvent
from kommunepuls.facts import Fact, packed_contributions
from kommunepuls.segments import partition_for
from kommunepuls.storage.event_store import History, iter_citizen_ids, read_histories


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
                     today: date) -> AsyncGenerator[tuple[list[Fact], bool]]:
    """The citizens' facts, a chunk at a time, each with whether it is the last (no
    citizens: one empty last chunk)."""
    ids = sorted(set(citizen_ids))

    async def chunks() -> AsyncGenerator[list[str]]:
        for i in range(0, len(ids), CITIZENS_PER_READ):
            yield ids[i:i + CITIZENS_PER_READ]

    async with aclosing(_facts_of(pool, chunks(), today)) as found:
        async for item in found:
            yield item


async def _facts_of(pool: asyncpg.Pool, chunks: AsyncIterator[list[str]],
                    today: date) -> AsyncGenerator[tuple[list[Fact], bool]]:
    """The facts of each chunk of citizens, with whether it is the last; the next chunk's
    read runs while this one is folded. Shared by the live batches and the new-day sweep,
    whose chunks come from a walk over the store's citizen ids instead of a list."""
    chunk = await anext(chunks, None)
    if chunk is None:
        yield [], True
        return
    reading: asyncio.Future[dict[str, History]] | None = asyncio.ensure_future(
        read_histories(pool, chunk, UNREAD_TYPES))
    try:
        while reading is not None:
            by_citizen = await reading
            reading = None
            following = await anext(chunks, None)
            if following is not None:
                reading = asyncio.ensure_future(
                    read_histories(pool, following, UNREAD_TYPES))
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


# Citizen ids are listed this many at a time: the sweep holds one page of ids (~0.6 MB)
# besides the two chunks of histories, whatever the store's size.
IDS_PER_PAGE = 5_000


async def _citizens_of(pool: asyncpg.Pool, partitions: set[int],
                       count: int) -> AsyncGenerator[list[str]]:
    """Every stored citizen of the partitions, in chunks of CITIZENS_PER_READ."""
    chunk: list[str] = []
    async for page in iter_citizen_ids(pool, page=IDS_PER_PAGE):
        for citizen in page:
            if partition_for(citizen, count) in partitions:
                chunk.append(citizen)
                if len(chunk) == CITIZENS_PER_READ:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


async def sweep(pool: asyncpg.Pool, partitions: set[int], count: int,
                today: date) -> AsyncGenerator[tuple[list[Fact], bool]]:
    """Re-evaluate every citizen of the given partitions (the day moved on), a chunk of
    facts at a time.

    Memory is bounded by a page of ids and two chunks of histories, not by the store: the
    ids come from the citizen index, and the histories are read and folded as the live
    batches do (without the types the fold never reads; each fact's version is the
    citizen's highest position of any type).
    """
    async with aclosing(_citizens_of(pool, partitions, count)) as chunks, \
            aclosing(_facts_of(pool, chunks, today)) as found:
        async for facts, last in found:
            yield facts, last


def by_partition(facts: Iterable[Fact], count: int) -> Iterator[tuple[int, list[Fact]]]:
    grouped: dict[int, list[Fact]] = {}
    for fact in facts:
        grouped.setdefault(partition_for(fact.citizen_id, count), []).append(fact)
    yield from sorted(grouped.items())
