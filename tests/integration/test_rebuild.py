"""`kommunepuls rebuild` leaves the read models a batch recompute agrees with, replaces
whatever they held, is idempotent, and refuses to run beside a metrics worker; and the
replay benchmark (bench/replay.py) still loads, rebuilds and measures."""

import asyncio
import uuid
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from bench.replay import TODAY as bench_today
from bench.replay import bench_settings, fresh_store, run_rebuild
from kommunepuls.config import Settings
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.kafka import consumer_options, ensure_topics, topic_name
from kommunepuls.rebuild import RebuildError, WorkersRunning, rebuild
from kommunepuls.recompute import compare, live_counts, recompute_counts
from kommunepuls.storage.db import create_pool
from tests.integration.simulated_store import load_simulated

TODAY = date(2019, 3, 15)


async def read_models(db: asyncpg.Pool) -> tuple[list[asyncpg.Record], ...]:
    counts = await db.fetch("SELECT indicator, municipality, period, grp, partition, numerator, "
                            "denominator, events_through FROM indicator_counts ORDER BY 1, 2, 3, "
                            "4, 5")
    citizens = await db.fetch("SELECT * FROM citizen_contributions ORDER BY 1, 2")
    checkpoints = await db.fetch("SELECT name, position FROM checkpoints ORDER BY name")
    return counts, citizens, checkpoints


async def test_rebuild_agrees_with_the_batch_recompute_and_is_idempotent(
        settings: Settings, db: asyncpg.Pool) -> None:
    settings = settings.model_copy(update={"today": TODAY})
    stored = await load_simulated(settings, db, citizens=200, today=TODAY)
    assert await db.fetchval("SELECT count(*) FROM events WHERE type = 'event_retracted'") > 0
    # A stale read model the rebuild must replace, not add to.
    await db.execute("INSERT INTO indicator_counts VALUES ('fsm_virksomhedsforloeb', '851', "
                     "'2018-03', 1, 0, 99, 99, 1, now())")

    first = await rebuild(settings, processes=2)  # asks the broker: no worker runs

    head = await db.fetchval("SELECT position FROM event_store_head")
    assert (first.head, first.events, first.today) == (head, stored, TODAY)
    batch, _ = await recompute_counts(db, TODAY)
    assert compare(await live_counts(db), batch) == []
    assert len(batch) > 1_000
    # Every cell is new to the history, so each gets exactly one revision.
    assert first.revisions == len(batch)
    assert await db.fetchval("SELECT count(*) FROM indicator_revisions") == len(batch)
    models = await read_models(db)
    assert [tuple(r) for r in models[2]] == [
        *[(f"metrics:p{p}", head) for p in range(settings.kafka_partitions)],
        ("relay:case-events", head)]
    assert len(models[1]) == first.citizens == await db.fetchval(
        "SELECT count(DISTINCT citizen_id) FROM events")
    staged = await db.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%rebuild%'")
    assert staged == 0

    second = await rebuild(settings, processes=1, force=True)

    assert second.revisions == 0
    assert await read_models(db) == models


async def test_rebuild_refuses_while_a_metrics_worker_is_in_its_group(
        settings: Settings, db: asyncpg.Pool) -> None:
    await ensure_topics(settings)
    worker = AIOKafkaConsumer(topic_name(settings, settings.topic_cohort_facts),
                              group_id=f"{settings.topic_prefix}kommunepuls-metrics",
                              **consumer_options(settings))
    await worker.start()
    try:
        while not worker.assignment():  # until it has joined the group
            await worker.getmany(timeout_ms=500)
        with pytest.raises(RebuildError) as refused:
            await rebuild(settings, processes=1)
        # Tansu sometimes answers DescribeGroups in a way aiokafka cannot decode while a
        # group has members; the rebuild then refuses too, for want of an answer.
        assert ("kommunepuls-metrics" in str(refused.value)
                if isinstance(refused.value, WorkersRunning)
                else "cannot ask the broker" in str(refused.value))
    finally:
        await worker.stop()
    assert await db.fetchval("SELECT count(*) FROM checkpoints") == 0


async def test_the_replay_benchmark_loads_rebuilds_and_measures(postgres: EmbeddedPostgres,
                                                                tmp_path: Path) -> None:
    """bench/replay.py's parts on a tiny store: the COPY loader (one shard), and
    `kommunepuls rebuild` as the child process it times."""
    settings = bench_settings(postgres, tmp_path, f"replay_{uuid.uuid4().hex[:8]}")
    stored, _, _ = await fresh_store(settings, 2_000, shards=1)

    rebuilt = await asyncio.to_thread(run_rebuild, settings, 1, postgres.pid)

    assert stored == 2_000
    assert "rebuilt from 2000 events" in rebuilt.output
    assert rebuilt.seconds > 0 and rebuilt.cpu_s > 0 and rebuilt.peak_rss_mb > 0
    pool = await create_pool(settings, max_size=1)
    try:
        batch, _ = await recompute_counts(pool, bench_today)
        assert batch and compare(await live_counts(pool), batch) == []
    finally:
        await pool.close()
