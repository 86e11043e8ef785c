"""Readers' positions in the event store (the tracking table `checkpoints`), and the
broker's epoch: what tells a reader that what it published may be gone."""

from __future__ import annotations

import asyncpg


async def read_checkpoint(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> int:
    value = await conn.fetchval("SELECT position FROM checkpoints WHERE name = $1", name)
    return int(value or 0)


async def write_checkpoint(conn: asyncpg.Connection | asyncpg.Pool, name: str,
                           position: int) -> None:
    await conn.execute(
        """INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()""",
        name, position)


async def advance_checkpoint(conn: asyncpg.Connection | asyncpg.Pool, name: str,
                             expected: int, position: int) -> bool:
    """Move a checkpoint from `expected` (as read; 0 if absent) to `position`. False, and
    left alone, if another process moved it meanwhile: `kommunepuls recover` rewinding the
    relay while a batch was in flight must not be overwritten by that batch's end."""
    status = await conn.execute(
        """INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $3, now())
           ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
           WHERE checkpoints.position = $2""", name, expected, position)
    return bool(status.endswith(" 1"))


async def read_broker_epoch(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """How many times the broker was declared to have lost its data (migration 0008)."""
    return int(await conn.fetchval("SELECT coalesce(max(epoch), 0) FROM broker_epoch"))


async def bump_broker_epoch(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return int(await conn.fetchval(
        """INSERT INTO broker_epoch (id, epoch) VALUES (true, 1)
           ON CONFLICT (id) DO UPDATE SET epoch = broker_epoch.epoch + 1, recovered_at = now()
           RETURNING epoch"""))


async def metrics_through(conn: asyncpg.Connection | asyncpg.Pool, partitions: int) -> int:
    """Position every metrics partition has durably reached (the lowest of them)."""
    rows = await conn.fetch("SELECT name, position FROM checkpoints WHERE name LIKE 'metrics:p%'")
    reached = {r["name"]: r["position"] for r in rows}
    return min((reached.get(f"metrics:p{p}", 0) for p in range(partitions)), default=0)
