"""The simulator feeds a real ingest app and drives the platform clock."""

from datetime import date

import asyncpg
import httpx

from kommunepuls.config import Settings
from kommunepuls.simulator.feed import run_simulation
from kommunepuls.simulator.generator import SimConfig, generate
from kommunepuls.storage.checkpoints import (
    advance_checkpoint,
    read_broker_epoch,
    read_checkpoint,
    write_checkpoint,
)
from services.ingest.app import create_app
from services.ingest.relay import CHECKPOINT, rewind_to_durable


async def test_simulated_traffic_is_stored_and_the_clock_follows_it(
        settings: Settings, db: asyncpg.Pool) -> None:
    config = SimConfig(seed=3, citizens=60, end=date(2017, 12, 31))
    expected = list(generate(config))
    app = create_app(settings, relay=False)
    async with app.router.lifespan_context(app):
        stats = await run_simulation(settings, config, ingest_url="http://ingest", speed=0,
                                     drive_clock=True, transport=httpx.ASGITransport(app))
    assert stats.sent == len(expected)
    valid_unique = {e.envelope["event_id"] for e in expected if e.valid}
    assert stats.accepted == len(valid_unique) == await db.fetchval("SELECT count(*) FROM events")
    assert stats.rejected == sum(not e.valid for e in expected)
    assert await db.fetchval("SELECT today FROM platform_clock") == expected[-1].emit_at.date()


async def test_relay_rewinds_to_what_every_metrics_partition_has_counted(
        db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO checkpoints (name, position) VALUES ($1, 900)", CHECKPOINT)
    await db.executemany("INSERT INTO checkpoints (name, position) VALUES ($1, $2)",
                         [("metrics:p0", 850), ("metrics:p1", 700)])
    # Partition 2 never counted anything: everything must be published again.
    assert await rewind_to_durable(db, partitions=3) == (900, 0)
    await db.execute("INSERT INTO checkpoints (name, position) VALUES ('metrics:p2', 880)")
    await db.execute("UPDATE checkpoints SET position = 900 WHERE name = $1", CHECKPOINT)
    assert await rewind_to_durable(db, partitions=3) == (900, 700)
    # Each recover moves the broker's epoch: the cohorts worker then forgets what it sent.
    assert await read_broker_epoch(db) == 2


async def test_the_relay_never_overwrites_a_rewind_that_happened_while_it_published(
        db: asyncpg.Pool) -> None:
    assert await advance_checkpoint(db, CHECKPOINT, 0, 500)  # absent counts as 0
    assert await advance_checkpoint(db, CHECKPOINT, 500, 800)
    await write_checkpoint(db, CHECKPOINT, 300)  # recover, while a batch read at 800 was out
    assert not await advance_checkpoint(db, CHECKPOINT, 800, 1200)
    assert await read_checkpoint(db, CHECKPOINT) == 300
