"""Metrics read models in PostgreSQL: load a partition's state, flush it in one transaction.

The flush writes the changed counts, the changed citizens' cells and the partition's
checkpoint together (the tracking-table pattern), so what PostgreSQL holds is always a
state the stream really passed through — a restarted worker continues from it exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

import asyncpg

from kommunepuls.facts import PART_BIT, key_columns
from kommunepuls.storage.arrays import literal
from kommunepuls.storage.event_store import read_checkpoint, write_checkpoint
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
# (partition, position, time) as one scalar.
_UPSERT_COUNTS = """
INSERT INTO indicator_counts AS c (indicator, municipality, period, grp, partition, numerator,
                                   denominator, events_through, computed_at)
SELECT u.i, u.m, u.p, u.g, $5, u.n, u.d, $8, $9
FROM unnest($1::text::text[], $2::text::char(3)[], $3::text::text[], $4::text::smallint[],
            $6::text::int[], $7::text::int[]) AS u(i, m, p, g, n, d)
ON CONFLICT (indicator, municipality, period, grp, partition) DO UPDATE
SET numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator,
    events_through = EXCLUDED.events_through, computed_at = EXCLUDED.computed_at"""

_DELETE_COUNTS = """
DELETE FROM indicator_counts c USING unnest($1::text::text[], $2::text::char(3)[],
                                            $3::text::text[], $4::text::smallint[]) AS k(i, m, p, g)
WHERE c.indicator = k.i AND c.municipality = k.m AND c.period = k.p AND c.grp = k.g
  AND c.partition = $5"""

_UPSERT_CITIZENS = """
INSERT INTO citizen_contributions (partition, citizen_id, position, day, cells)
SELECT $1, u.c, u.pos, u.d, u.j::bigint[]
FROM unnest($2::text[], $3::text::bigint[], $4::text::date[], $5::text[]) AS u(c, pos, d, j)
ON CONFLICT (partition, citizen_id) DO UPDATE
SET position = EXCLUDED.position, day = EXCLUDED.day, cells = EXCLUDED.cells"""

# A revision is recorded when a cell's pooled value differs from its latest revision.
# Both lookups are per key through an index (LATERAL): as joins, the planner sorted all of
# indicator_counts and scanned every revision on each flush (3.7 s of 20k keys, measured).
_REVISE = """
WITH keys AS (
    SELECT *, $5::bigint AS t FROM unnest($1::text::text[], $2::text::char(3)[], $3::text::text[],
                                          $4::text::smallint[]) AS k(i, m, p, g)
), pooled AS (
    SELECT k.i, k.m, k.p, k.g, k.t, s.n, s.d, l.numerator, l.denominator, l.found
    FROM keys k
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(c.numerator), 0)::int AS n, coalesce(sum(c.denominator), 0)::int AS d
        FROM indicator_counts c
        WHERE c.indicator = k.i AND c.municipality = k.m AND c.period = k.p AND c.grp = k.g
    ) s
    LEFT JOIN LATERAL (
        SELECT r.numerator, r.denominator, true AS found FROM indicator_revisions r
        WHERE r.indicator = k.i AND r.municipality = k.m AND r.period = k.p AND r.grp = k.g
        ORDER BY r.id DESC LIMIT 1
    ) l ON true
)
INSERT INTO indicator_revisions (indicator, municipality, period, grp, numerator, denominator,
                                 events_through)
SELECT p.i, p.m, p.p, p.g, p.n, p.d, p.t FROM pooled p
WHERE p.found IS NULL AND p.d > 0 OR (p.numerator, p.denominator) IS DISTINCT FROM (p.n, p.d)
  AND p.found IS NOT NULL"""


async def flush(pool: asyncpg.Pool, states: Sequence[PartitionState]) -> int:
    """Write what changed in these partitions since their last flush, in one transaction
    (one commit, whatever the number of partitions); return the number of cells revised.

    Memory: with the real date a citizen counts in ~490 cells, so after a backlog every
    cell of every partition is dirty. Rows are built a partition and a chunk at a time, so
    what a flush holds beside the state is bounded by CHUNK, not by the cells changed."""
    if not any(s.dirty_cells or s.dirty_citizens or s.through for s in states):
        return 0
    now = datetime.now(UTC)
    revised = 0
    async with pool.acquire() as conn, conn.transaction():
        for state in states:
            await _write_counts(conn, state, now)
            await _write_citizens(conn, state)
        # After every partition's counts: a cell's pooled value is revised once, not once
        # per partition with the others' counts still old; the newest partition's
        # `through` goes with it.
        seen: set[int] = set()
        for state in sorted(states, key=lambda s: s.through, reverse=True):
            cells = [c for c in state.dirty_denominators() if c not in seen]
            seen.update(cells)
            revised += len(cells)
            for chunk in _chunks(cells):
                await conn.execute(_REVISE, *key_literals(chunk), state.through)
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


async def _write_counts(conn: asyncpg.Connection, state: PartitionState, now: datetime) -> None:
    p, totals = state.partition, state.totals
    for chunk in _chunks(sorted(state.dirty_denominators())):
        live = [d for d in chunk if totals.get(d, 0)]
        gone = [d for d in chunk if not totals.get(d, 0)]
        if live:
            await conn.execute(
                _UPSERT_COUNTS, *key_literals(live), p,
                literal([totals.get(d | PART_BIT, 0) for d in live]),
                literal([totals[d] for d in live]), state.through, now)
        if gone:
            await conn.execute(_DELETE_COUNTS, *key_literals(gone), p)


async def _write_citizens(conn: asyncpg.Connection, state: PartitionState) -> None:
    for ids in _chunks(sorted(state.dirty_citizens)):
        rows = [state.citizen(c) for c in ids]
        await conn.execute(
            _UPSERT_CITIZENS, state.partition, ids,
            literal([position for position, _, _ in rows]),
            literal([date.fromordinal(day) for _, day, _ in rows]),
            # One literal per citizen: unnest of a 2-D array would flatten their cells.
            [literal(cells) for _, _, cells in rows])
