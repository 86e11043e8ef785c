"""Metrics read models in PostgreSQL: load a partition's state, flush it in one transaction.

The flush writes the changed counts, the changed citizens' cells and the partition's
checkpoint together (the tracking-table pattern), so what PostgreSQL holds is always a
state the stream really passed through — a restarted worker continues from it exactly.
A flush may hold facts of records not yet acknowledged (applied as they arrived, see
agents.py): facts are absolute and versioned, so their redelivery after a crash is stale,
and the checkpoint moves only with the records processed in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import aclosing
from datetime import UTC, date, datetime
from typing import TypeVar

import asyncpg

from kommunepuls.facts import PART_BIT, key_columns, runs_literal
from kommunepuls.storage.arrays import literal
from kommunepuls.storage.checkpoints import read_checkpoint, write_checkpoint
from services.metrics.state import PartitionState

T = TypeVar("T")


def checkpoint_name(partition: int) -> str:
    return f"metrics:p{partition}"


async def load_partition(pool: asyncpg.Pool, partition: int) -> PartitionState:
    state = PartitionState(partition)
    rows = await pool.fetch(
        "SELECT citizen_id, position, day, cells FROM citizen_contributions WHERE partition = $1",
        partition)
    for row in rows:
        state.load(row["citizen_id"], row["position"], row["day"].toordinal(),
                   tuple(row["cells"]))
    state.through = await read_checkpoint(pool, checkpoint_name(partition))
    return state


# Arrays arrive as literals (kommunepuls/storage/arrays.py); what is the same for every row
# (position, time) as one scalar.
#
# One row per cell (partition -1: all partitions, migration 0006): a flush adds its
# partitions' changes to it. Addition commutes, so workers owning different partitions
# share the row (its lock orders them; cells are sorted, so no deadlock), and what the
# update returns is the cell's new pooled value: the revision, with no lookup. With a row
# per cell and partition, each flush rewrote ~4 rows a cell and looked up every cell's
# sum and latest revision (bench.stream: 374k rows and 175k lookups, 10 of PostgreSQL's
# 14 CPU seconds).
_ADD_COUNTS = """
INSERT INTO indicator_counts AS c (indicator, municipality, period, grp, partition, numerator,
                                   denominator, events_through, computed_at)
SELECT u.i, u.m, u.p, u.g, -1, u.n, u.d, $7, $8
FROM unnest($1::text::text[], $2::text::char(3)[], $3::text::text[], $4::text::smallint[],
            $5::text::int[], $6::text::int[]) AS u(i, m, p, g, n, d)
ON CONFLICT (indicator, municipality, period, grp, partition) DO UPDATE
SET numerator = c.numerator + EXCLUDED.numerator,
    denominator = c.denominator + EXCLUDED.denominator,
    events_through = greatest(c.events_through, EXCLUDED.events_through),
    computed_at = EXCLUDED.computed_at
RETURNING indicator, municipality, period, grp, numerator, denominator"""

# A changed pooled value is a revision; an emptied cell (0 / 0) only if it was ever
# reported. Its own statement: a rebuild's staging schema discards revisions with a
# DO INSTEAD NOTHING rule (kommunepuls/rebuild_staging.py), which PostgreSQL does not
# allow on a statement inside a WITH.
_REVISE = """
INSERT INTO indicator_revisions (indicator, municipality, period, grp, numerator, denominator,
                                 events_through)
SELECT u.i, u.m, u.p, u.g, u.n, u.d, $7
FROM unnest($1::text::text[], $2::text::char(3)[], $3::text::text[], $4::text::smallint[],
            $5::text::int[], $6::text::int[]) AS u(i, m, p, g, n, d)
WHERE u.d > 0 OR (
    -- a probe per emptied cell: as EXISTS, the generic plan hashed every revision
    SELECT true FROM indicator_revisions r
    WHERE r.indicator = u.i AND r.municipality = u.m AND r.period = u.p AND r.grp = u.g
    LIMIT 1)"""

# By a probe per key (LATERAL ... OFFSET 0, then the rows' ctids): as a join, the generic
# plan scanned every count row (tests/integration/test_query_plans.py).
_DELETE_EMPTY = """
DELETE FROM indicator_counts WHERE ctid = ANY (ARRAY(
    SELECT x.ctid FROM unnest($1::text::text[], $2::text::char(3)[], $3::text::text[],
                              $4::text::smallint[]) AS k(i, m, p, g)
    CROSS JOIN LATERAL (
        SELECT ctid FROM indicator_counts
        WHERE indicator = k.i AND municipality = k.m AND period = k.p AND grp = k.g
          AND partition = -1 AND denominator = 0 OFFSET 0) x))"""

_UPSERT_CITIZENS = """
INSERT INTO citizen_contributions (partition, citizen_id, position, day, cells)
SELECT $1, u.c, u.pos, u.d, u.j::bigint[]
FROM unnest($2::text[], $3::text::bigint[], $4::text::date[], $5::text[]) AS u(c, pos, d, j)
ON CONFLICT (partition, citizen_id) DO UPDATE
SET position = EXCLUDED.position, day = EXCLUDED.day, cells = EXCLUDED.cells"""


async def flush(pool: asyncpg.Pool, states: Sequence[PartitionState]) -> int:
    """Write what changed in these partitions since their last flush, in one transaction
    (one commit, whatever the number of partitions); return the number of cells revised.

    Memory: with the real date a citizen counts in ~490 cells, so after a backlog every
    cell of every partition is dirty. Rows are built a chunk of cells at a time, so what
    a flush holds beside the state is bounded by CHUNK, not by the cells changed."""
    if not any(s.dirty_cells or s.dirty_citizens or s.through for s in states):
        return 0
    now = datetime.now(UTC)
    # The changes of all the flushed partitions together: a cell that one partition
    # gained and another lost is unchanged, and is neither written nor revised.
    changes: dict[int, int] = {}
    for state in states:
        for cell, change in state.dirty_cells.items():
            if change:
                changes[cell] = changes.get(cell, 0) + change
    cells = sorted({c & ~PART_BIT for c, change in changes.items() if change})
    through = max(s.through for s in states)
    async with pool.acquire() as conn, conn.transaction():
        # PostgreSQL adds the counts while this process builds the citizens' rows, so the
        # two halves of a flush overlap instead of taking turns: the last flush of a
        # catch-up is all that is left to do once cohorts is done (bench.stream: ~9,000
        # citizens, ~0.4 s of building beside ~0.7 s of count and revision statements).
        counting = asyncio.ensure_future(_add_all_counts(conn, cells, changes, through, now))
        async with aclosing(_citizen_rows(states)) as rows:
            try:
                ready = await _build_ahead(rows, CHUNK)
            except BaseException:
                counting.cancel()  # never leave a statement running on the connection
                await asyncio.gather(counting, return_exceptions=True)
                raise
            revised = await counting
            for args in ready:
                await conn.execute(_UPSERT_CITIZENS, *args)
            async for args in rows:
                await conn.execute(_UPSERT_CITIZENS, *args)
        for state in states:
            await write_checkpoint(conn, checkpoint_name(state.partition), state.through)
    for state in states:
        state.clean()
    return revised


CHUNK = 20_000


def key_literals(packed_cells: list[int]) -> tuple[str, str, str, str]:
    """Indicator, municipality, period and group of packed cells, as four array literals
    (codes and labels only: nothing in them needs quoting)."""
    indicators, municipalities, periods, groups = key_columns(packed_cells)
    return literal(indicators), literal(municipalities), literal(periods), literal(groups)


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


async def _add_all_counts(conn: asyncpg.Connection, cells: list[int], changes: dict[int, int],
                          through: int, now: datetime) -> int:
    revised = 0
    for chunk in _chunks(cells):
        revised += await _add_counts(conn, chunk, changes, through, now)
    return revised


async def _add_counts(conn: asyncpg.Connection, cells: list[int], changes: dict[int, int],
                      through: int, now: datetime) -> int:
    """Add a chunk of cells' changes to their pooled rows, record the new values as
    revisions, drop emptied rows; return the number of revisions."""
    pooled = await conn.fetch(
        _ADD_COUNTS, *key_literals(cells), literal([changes.get(d | PART_BIT, 0) for d in cells]),
        literal([changes.get(d, 0) for d in cells]), through, now)
    columns = [literal(r[i] for r in pooled) for i in range(6)]
    revised = await conn.execute(_REVISE, *columns, through)
    emptied = [r for r in pooled if r["denominator"] == 0]
    if emptied:
        await conn.execute(_DELETE_EMPTY, *[literal(r[i] for r in emptied) for i in range(4)])
    return int(revised.split()[-1])


CitizenRows = tuple[int, list[str], str, str, list[str]]
# While the counts are written the rows are built this many citizens at a time, the event
# loop running in between: a statement's arguments (~1 MB) leave the socket only then,
# and PostgreSQL waited for them while 9,000 citizens' rows were built (~0.4 s).
CITIZENS_BETWEEN_YIELDS = 500


async def _citizen_rows(states: Sequence[PartitionState]) -> AsyncGenerator[CitizenRows]:
    """_UPSERT_CITIZENS's arguments for the dirty citizens, a CHUNK at most each, built as
    they are taken."""
    for state in states:
        for ids in _chunks(sorted(state.dirty_citizens)):
            positions: list[int] = []
            days: list[date] = []
            cells: list[str] = []
            for start in range(0, len(ids), CITIZENS_BETWEEN_YIELDS):
                await asyncio.sleep(0)
                for citizen in ids[start:start + CITIZENS_BETWEEN_YIELDS]:
                    position, day, runs = state.citizen_runs(citizen)
                    positions.append(position)
                    days.append(date.fromordinal(day))
                    # One literal per citizen: unnest of a 2-D array would flatten them.
                    cells.append(runs_literal(runs))
            yield state.partition, ids, literal(positions), literal(days), cells


async def _build_ahead(rows: AsyncIterator[CitizenRows], citizens: int) -> list[CitizenRows]:
    """Take rows until `citizens` are built (memory: two CHUNKs at most)."""
    ready: list[CitizenRows] = []
    built = 0
    while built < citizens and (args := await anext(rows, None)) is not None:
        ready.append(args)
        built += len(args[1])
    return ready
