"""Staging schemas for `kommunepuls rebuild`, and the one transaction that swaps them in.

A rebuild writes through the metrics worker's own `flush` (so the stored format is the
worker's), but not into the live read models: each rebuild process gets a schema of its
own holding empty copies of the metrics tables (TABLES: should the metrics store ever
write another table, add it there; until then its flush fails in the staging schema,
loudly). Only when every process has finished does one transaction replace the live
read models with the staged ones. So the gateway never sees a half-built model, a failed
rebuild leaves the old read models untouched, and the partial counts each flush writes
along the way never become revisions ("what did we report as known at ..." stays true).
"""

from __future__ import annotations

import asyncpg

from kommunepuls.storage.checkpoints import write_checkpoint
from services.ingest.relay import CHECKPOINT as RELAY_CHECKPOINT
from services.metrics.store import checkpoint_name

# The tables the metrics worker's flush writes.
TABLES = ("indicator_counts", "citizen_contributions", "indicator_revisions", "checkpoints")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def staging_names(main: str, processes: int) -> list[str]:
    return [f"{main}__rebuild_{k}" for k in range(processes)]


async def create_staging(conn: asyncpg.Connection, main: str, stage: str) -> None:
    """An empty schema with the metrics tables' shape (a leftover of a failed run dropped)."""
    await conn.execute(f"DROP SCHEMA IF EXISTS {quote(stage)} CASCADE")
    await conn.execute(f"CREATE SCHEMA {quote(stage)}")
    for table in TABLES:
        # Unlogged: staged rows are rewritten many times and copied once; a crash only
        # means running the rebuild again.
        await conn.execute(f"CREATE UNLOGGED TABLE {quote(stage)}.{table} "
                           f"(LIKE {quote(main)}.{table} INCLUDING ALL)")
    # Every flush records revisions of the partial counts it wrote; staged, they mean
    # nothing, so they are not kept (the swap records the real ones, once).
    await conn.execute(f"CREATE RULE discard AS ON INSERT TO {quote(stage)}.indicator_revisions "
                       "DO INSTEAD NOTHING")


async def drop_staging(conn: asyncpg.Connection, stage: str) -> None:
    await conn.execute(f"DROP SCHEMA IF EXISTS {quote(stage)} CASCADE")


# The worker's rule for a revision (services/metrics/store.py): a cell's pooled value is
# recorded when it differs from its latest revision, a vanished cell as 0 / 0.
_REVISE_ALL = """
WITH pooled AS (
    SELECT indicator, municipality, period, grp, sum(numerator)::int AS n,
           sum(denominator)::int AS d
    FROM indicator_counts GROUP BY indicator, municipality, period, grp
), latest AS (
    SELECT DISTINCT ON (indicator, municipality, period, grp)
           indicator, municipality, period, grp, numerator, denominator
    FROM indicator_revisions ORDER BY indicator, municipality, period, grp, id DESC
)
INSERT INTO indicator_revisions (indicator, municipality, period, grp, numerator, denominator,
                                 events_through)
SELECT indicator, municipality, period, grp, coalesce(p.n, 0), coalesce(p.d, 0), $1
FROM pooled p FULL JOIN latest l USING (indicator, municipality, period, grp)
WHERE l.numerator IS NULL AND p.d > 0
   OR l.numerator IS NOT NULL
      AND (l.numerator, l.denominator) IS DISTINCT FROM (coalesce(p.n, 0), coalesce(p.d, 0))"""


async def swap_in(conn: asyncpg.Connection, stages: list[str], *, head: int,
                  partitions: int) -> tuple[int, int]:
    """Replace the live read models by the staged ones, in one transaction; return the
    number of count rows and of new revisions.

    Each stage holds whole partitions' counts for its own citizens, so a partition's
    count is the sum over the stages; citizens are in exactly one stage.
    """
    def union(columns: str, table: str) -> str:
        return " UNION ALL ".join(f"SELECT {columns} FROM {quote(s)}.{table}" for s in stages)

    count_columns = "indicator, municipality, period, grp, partition, numerator, denominator"
    async with conn.transaction():
        # TRUNCATE waits for readers to finish and makes them wait: the gateway pauses
        # for the length of this transaction, and then sees the new models whole.
        await conn.execute("TRUNCATE indicator_counts, citizen_contributions")
        await conn.execute("INSERT INTO citizen_contributions "
                           + union("*", "citizen_contributions"))
        counted = await conn.execute(
            f"""INSERT INTO indicator_counts ({count_columns}, events_through, computed_at)
                SELECT indicator, municipality, period, grp, partition, sum(numerator),
                       sum(denominator), $1, now()
                FROM ({union(count_columns, 'indicator_counts')}) s
                GROUP BY indicator, municipality, period, grp, partition
                HAVING sum(denominator) > 0""", head)
        revised = await conn.execute(_REVISE_ALL, head)
        await conn.execute("DELETE FROM checkpoints WHERE name LIKE 'metrics:p%'")
        for partition in range(partitions):
            await write_checkpoint(conn, checkpoint_name(partition), head)
        # Everything through the head is counted: republishing it to case-events (as a
        # relay behind the head would) would only make the workers redo it.
        await conn.execute(
            """INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, now())
               ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
               WHERE checkpoints.position < EXCLUDED.position""", RELAY_CHECKPOINT, head)
    return int(counted.split()[-1]), int(revised.split()[-1])
