"""Batch recompute and verify: every indicator straight from the event store, with the same
pure core the stream uses, compared cell by cell with the live read models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from kommunepuls.domain.evaluation import Count, CountKey, Counts, evaluate
from kommunepuls.domain.records import StoredEvent
from kommunepuls.storage.event_store import head_position, iter_all


async def recompute_counts(pool: asyncpg.Pool, today: date) -> tuple[Counts, int]:
    """All indicator counts as of `today` from the whole store; and the head it read to."""
    head = await head_position(pool)
    events: list[StoredEvent] = []
    async for batch in iter_all(pool, through=head):
        events.extend(batch)
    return evaluate(events, today), head


async def write_snapshot(pool: asyncpg.Pool, counts: Counts, today: date, head: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        run_id = await conn.fetchval(
            "INSERT INTO recompute_runs (today, events_through) VALUES ($1, $2) RETURNING id",
            today, head)
        await conn.copy_records_to_table(
            "recompute_counts",
            records=[(run_id, k.indicator, k.municipality, k.period, k.group or 0,
                      c.numerator, c.denominator) for k, c in counts.items()],
            columns=("run_id", "indicator", "municipality", "period", "grp", "numerator",
                     "denominator"))
    return int(run_id)


async def live_counts(pool: asyncpg.Pool | asyncpg.Connection) -> Counts:
    """The live read models' pooled counts (summed over metrics partitions)."""
    rows = await pool.fetch(
        """SELECT indicator, municipality, period, grp, sum(numerator)::int AS n,
                  sum(denominator)::int AS d
           FROM indicator_counts GROUP BY indicator, municipality, period, grp""")
    return {CountKey(r["indicator"], r["municipality"], r["period"], r["grp"]):
            Count(r["n"], r["d"]) for r in rows if r["d"]}


@dataclass(frozen=True, slots=True)
class Difference:
    key: CountKey
    live: Count | None
    batch: Count | None


def _normalised(counts: Counts) -> Counts:
    # The read models store "no group" as 0.
    return {k._replace(group=k.group or 0): c for k, c in counts.items()}


def compare(live: Counts, batch: Counts) -> list[Difference]:
    live, batch = _normalised(live), _normalised(batch)
    keys = sorted(set(live) | set(batch), key=lambda k: (k.indicator, k.municipality, k.period,
                                                         k.group or 0))
    return [Difference(k, live.get(k), batch.get(k)) for k in keys if live.get(k) != batch.get(k)]
