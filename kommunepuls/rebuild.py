"""`kommunepuls rebuild`: the metrics read models rebuilt from the event store in bulk.

The stream takes minutes per million events because every event travels through Kafka
and two workers; a rebuild reads the store citizen by citizen instead (rows ordered by
citizen_id, position through a server-side cursor, so memory holds one citizen's events),
evaluates each citizen with the cohorts worker's own `fact_for`, and counts the facts
with the metrics worker's own `PartitionState` and `flush`. The read models it leaves
are therefore exactly what the stream would have written, with every metrics checkpoint
at the store's head: started afterwards, the workers continue from there.

Several processes share the work by citizen_id range; each writes into a staging schema
of its own and one transaction swaps the result in (see rebuild_staging.py).

Stop the cohorts and metrics workers first: a running metrics worker holds counts in
memory and would write them over the rebuilt ones. The rebuild refuses to start while
either worker's consumer group has members (asked of the broker), unless forced. Ingest
and the gateway may keep running: events stored after the head the rebuild reads to
reach the workers through the relay once they are back, and the gateway sees the old
read models until the swap, then the new ones. The workers need nothing else on start:
metrics loads the rebuilt partitions, cohorts finds every citizen evaluated today, and
facts still queued on cohort-facts are older than the rebuilt ones, so they are dropped
by their version. The relay's checkpoint is moved up to the head if it was behind.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from kommunepuls import rebuild_staging as staging
from kommunepuls.clock import platform_today
from kommunepuls.config import Settings
from kommunepuls.segments import partition_for
from kommunepuls.storage.db import create_pool
from kommunepuls.storage.event_store import head_position, iter_citizens
from services.cohorts.evaluate import fact_for
from services.metrics.state import PartitionState
from services.metrics.store import flush

# Citizens evaluated between flushes: bounds what the partition states hold in memory
# (a citizen's cells are dropped once flushed; each citizen comes exactly once).
CHUNK_CITIZENS = 50_000
WORKER_GROUPS = ("cohorts", "metrics")
_REBUILD_LOCK = 0x72656275  # "rebu"
_LOCK = "SELECT pg_try_advisory_lock($1::int, hashtext(current_schema()))"
_UNLOCK = "SELECT pg_advisory_unlock($1::int, hashtext(current_schema()))"


class RebuildError(Exception):
    """The rebuild cannot run."""


class WorkersRunning(RebuildError):
    """A cohorts or metrics worker is running; stop it first."""


@dataclass(frozen=True, slots=True)
class RangeResult:
    citizens: int
    events: int


@dataclass(frozen=True, slots=True)
class RebuildResult:
    today: date
    head: int
    citizens: int
    events: int
    count_rows: int
    revisions: int
    seconds: float


def citizen_ranges(processes: int) -> list[tuple[str, str | None]]:
    """Split the citizen_id space (hex digests) into `processes` ranges [low, high)."""
    bounds = [format(k * 0x10000 // processes, "04x") for k in range(processes)]
    return [("" if k == 0 else bounds[k], bounds[k + 1] if k + 1 < processes else None)
            for k in range(processes)]


async def running_workers(settings: Settings, attempts: int = 3) -> list[str]:
    """The stream workers whose consumer group has members (a running worker)."""
    groups = [f"{settings.topic_prefix}kommunepuls-{name}" for name in WORKER_GROUPS]
    failure = "no answer"
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(1.0)
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                    request_timeout_ms=5000)
        try:
            await admin.start()
            described = await admin.describe_consumer_groups(groups)
        except Exception as exc:
            # Seen with Tansu while a group rebalances: an answer aiokafka cannot decode.
            failure = type(exc).__name__
            continue
        finally:
            await admin.close()
        return [group["group"] for response in described
                for group in response.to_object()["groups"]
                if group["members"] and group["state"] not in ("Dead", "Empty")]
    raise RebuildError(f"cannot ask the broker whether workers run ({failure}); stop the "
                       "cohorts and metrics workers and use --force")


async def rebuild(settings: Settings, *, processes: int = 2, force: bool = False,
                  chunk_citizens: int = CHUNK_CITIZENS) -> RebuildResult:
    started = time.perf_counter()
    if not force:
        busy = await running_workers(settings)
        if busy:
            raise WorkersRunning(f"workers are running ({', '.join(busy)}): stop them first")
    pool = await create_pool(settings, max_size=2)
    try:
        async with pool.acquire() as conn:
            # One rebuild per schema at a time: a second would drop the first one's staging.
            if not await conn.fetchval(_LOCK, _REBUILD_LOCK):
                raise RebuildError("another rebuild is running")
            try:
                main = str(await conn.fetchval("SELECT current_schema()"))
                today = await platform_today(settings, conn)
                head = await head_position(conn)
                stages = staging.staging_names(main, processes)
                for stage in stages:
                    await staging.create_staging(conn, main, stage)
                try:
                    results = await _run_ranges(settings, stages, today, head,
                                                chunk_citizens)
                    count_rows, revisions = await staging.swap_in(
                        conn, stages, head=head, partitions=settings.kafka_partitions)
                finally:
                    for stage in stages:
                        await staging.drop_staging(conn, stage)
            finally:
                await conn.execute(_UNLOCK, _REBUILD_LOCK)
    finally:
        await pool.close()
    return RebuildResult(today, head, sum(r.citizens for r in results),
                         sum(r.events for r in results), count_rows, revisions,
                         time.perf_counter() - started)


async def _run_ranges(settings: Settings, stages: list[str], today: date, head: int,
                      chunk_citizens: int) -> list[RangeResult]:
    ranges = citizen_ranges(len(stages))
    if len(stages) == 1:
        return [await rebuild_range(settings, stages[0], ranges[0], today, head,
                                    chunk_citizens)]
    loop = asyncio.get_running_loop()
    # spawn, not fork: a forked child would inherit this process's event loop and pools.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(stages), mp_context=context) as executor:
        return list(await asyncio.gather(*(
            loop.run_in_executor(executor, _range_in_process, settings, stage, span, today,
                                 head, chunk_citizens)
            for stage, span in zip(stages, ranges, strict=True))))


def _range_in_process(settings: Settings, stage: str, span: tuple[str, str | None],
                      today: date, head: int, chunk_citizens: int) -> RangeResult:
    return asyncio.run(rebuild_range(settings, stage, span, today, head, chunk_citizens))


async def rebuild_range(settings: Settings, stage: str,
                        span: tuple[str, str | None], today: date, head: int,
                        chunk_citizens: int = CHUNK_CITIZENS) -> RangeResult:
    """Evaluate the citizens of one citizen_id range and flush their facts into `stage`."""
    count = settings.kafka_partitions
    # Reads from the main schema, writes into the staging one only: a table the flush
    # writes that the staging schema lacks is an error, not a write into the live models.
    reading = await create_pool(settings, min_size=1, max_size=1)
    writing = await create_pool(
        settings.model_copy(update={"database_schema": staging.quote(stage)}), max_size=1)
    states = [PartitionState(p) for p in range(count)]
    citizens = events = 0
    try:
        async with reading.acquire() as reader:
            async for citizen_id, history in iter_citizens(reader, span[0], span[1],
                                                           through=head):
                states[partition_for(citizen_id, count)].apply(
                    fact_for(citizen_id, history, today))
                citizens += 1
                events += len(history)
                if citizens % chunk_citizens == 0:
                    await _flush_all(writing, states)
        for state in states:
            state.through = head
        await _flush_all(writing, states)
    finally:
        await reading.close()
        await writing.close()
    return RangeResult(citizens, events)


async def _flush_all(pool: asyncpg.Pool, states: Sequence[PartitionState]) -> None:
    await flush(pool, states)
    for state in states:
        # Each citizen comes once: flushed cells are never needed again, only the totals.
        state.citizens.clear()
