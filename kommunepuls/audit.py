"""Audit the live read models while events keep arriving (`kommunepuls audit`).

`verify` compares the read models with a recompute of the whole store, so it can only
agree once the stream is quiet: under steady traffic the live side is always a little
behind, and a citizen the stream lost looks the same as one still in flight. The audit
checks what must hold at every moment instead:

- **consistent**: every count equals the number of citizens' rows holding its cell. The
  metrics flush writes both in one transaction, so one snapshot must show them equal.
- **settled citizens are right**: a citizen whose newest stored event the live side has
  evaluated has exactly the cells a fresh fold of its history gives, on the day it was
  evaluated.
- **nobody is stuck**: a citizen with a stored event older than `settle_s` that the live
  side has not evaluated was lost on the way (facts lost with a broker, say). A restart
  does not bring it back; `kommunepuls replay` from before its events does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg

from kommunepuls.domain.citizen import UNREAD_TYPES
from kommunepuls.domain.evaluation import Count, CountKey, Counts
from kommunepuls.facts import PART_BIT, key_columns
from kommunepuls.recompute import Difference, compare, live_counts
from kommunepuls.segments import partition_for
from kommunepuls.storage.event_store import iter_citizen_ids, read_histories
from services.cohorts.evaluate import fact_for

CITIZENS_PER_PAGE = 500


@dataclass(slots=True)
class AuditResult:
    citizens: int = 0  # citizens in the store
    settled: int = 0  # evaluated through their newest stored event, and checked
    in_flight: int = 0  # newer events not yet evaluated, younger than the settle time
    stuck: list[str] = field(default_factory=list)  # older unevaluated events: lost
    wrong: list[str] = field(default_factory=list)  # settled, but other cells than a fold
    inconsistent: list[Difference] = field(default_factory=list)  # counts vs citizens' rows

    @property
    def ok(self) -> bool:
        return not (self.stuck or self.wrong or self.inconsistent)


async def audit(pool: asyncpg.Pool, partitions: int, settle_s: float) -> AuditResult:
    result = AuditResult()
    result.inconsistent = await _inconsistent_counts(pool)
    async for rows in _citizen_rows(pool):
        histories = await read_histories(pool, [r["citizen_id"] for r in rows], UNREAD_TYPES)
        behind = []
        for row in rows:
            citizen, position = row["citizen_id"], row["position"]
            history = histories.get(citizen)
            through = history.through if history else 0
            if through > position:
                behind.append((citizen, position))
            elif through < position or history is None:
                result.wrong.append(citizen)  # evaluated past what the store holds
            else:
                result.settled += 1
                fact = fact_for(citizen, history.events, row["day"], through)
                if fact.cells != tuple(row["cells"]):
                    result.wrong.append(citizen)
        await _sort_behind(pool, behind, settle_s, result)
    async for ids in iter_citizen_ids(pool, page=CITIZENS_PER_PAGE * 10):
        result.citizens += len(ids)
        missing = await pool.fetch(_WITHOUT_ROW, [partition_for(c, partitions) for c in ids], ids)
        await _sort_behind(pool, [(r["citizen_id"], 0) for r in missing], settle_s, result)
    return result


async def record_run(pool: asyncpg.Pool, result: AuditResult) -> None:
    await pool.execute(
        """INSERT INTO audit_runs (passed, citizens, settled, in_flight, stuck, wrong,
                                   inconsistent) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        result.ok, result.citizens, result.settled, result.in_flight, len(result.stuck),
        len(result.wrong), len(result.inconsistent))


async def _inconsistent_counts(pool: asyncpg.Pool) -> list[Difference]:
    """The counts against the citizens' rows, both read in one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                         readonly=True):
        live = await live_counts(conn)
        cells = await conn.fetch(_CELLS)
    numerators: Counter[CountKey] = Counter()
    denominators: Counter[CountKey] = Counter()
    packed = [r["cell"] for r in cells]
    columns = key_columns([cell & ~PART_BIT for cell in packed])
    for cell, row, key in zip(packed, cells, zip(*columns, strict=True), strict=True):
        counts = numerators if cell & PART_BIT else denominators
        counts[CountKey(*key)] += row["citizens"]
    summed: Counts = {k: Count(numerators[k], d) for k, d in denominators.items() if d}
    return compare(live, summed)


async def _citizen_rows(pool: asyncpg.Pool) -> AsyncIterator[list[asyncpg.Record]]:
    after: tuple[int, str] = (-1, "")
    while rows := await pool.fetch(_ROWS, *after, CITIZENS_PER_PAGE):
        yield rows
        after = (rows[-1]["partition"], rows[-1]["citizen_id"])


async def _sort_behind(pool: asyncpg.Pool, behind: list[tuple[str, int]], settle_s: float,
                       result: AuditResult) -> None:
    """In flight or stuck, by the age of each citizen's oldest event not yet evaluated."""
    if not behind:
        return
    ages = await pool.fetch(_OLDEST_UNEVALUATED, [c for c, _ in behind], [p for _, p in behind])
    for row in ages:
        if row["age_s"] is not None and row["age_s"] > settle_s:
            result.stuck.append(row["citizen_id"])
        else:
            result.in_flight += 1


_CELLS = """SELECT cell, count(*)::int AS citizens
            FROM citizen_contributions, unnest(cells) AS cell GROUP BY cell"""

_ROWS = """SELECT partition, citizen_id, position, day, cells FROM citizen_contributions
           WHERE (partition, citizen_id) > ($1, $2) ORDER BY partition, citizen_id LIMIT $3"""

# By a probe per id (the primary key), whatever the planner believes of the table.
_WITHOUT_ROW = """SELECT u.c AS citizen_id FROM unnest($1::int[], $2::text[]) AS u(p, c)
WHERE NOT EXISTS (SELECT 1 FROM citizen_contributions r
                  WHERE r.partition = u.p AND r.citizen_id = u.c)"""

_OLDEST_UNEVALUATED = """SELECT u.c AS citizen_id,
       extract(epoch FROM now() - o.recorded_at)::float8 AS age_s
FROM unnest($1::text[], $2::bigint[]) AS u(c, p)
CROSS JOIN LATERAL (SELECT recorded_at FROM events
                    WHERE citizen_id = u.c AND position > u.p
                    ORDER BY position LIMIT 1) AS o"""
