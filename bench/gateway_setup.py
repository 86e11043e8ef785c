"""The gateway benchmark's read models: every catalogue indicator for the 98
municipalities in a freshly migrated schema, and the requests asked of them."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from kommunepuls.domain import indicators as engine
from kommunepuls.domain.catalogue import Population
from kommunepuls.reference import municipalities
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import migrate

SCHEMA = "bench_gateway"
JWT_SECRET = "bench-jwt-secret-" + "s" * 32
PERIODS = [f"{2017 + (7 + m) // 12}-{(7 + m) % 12 + 1:02d}" for m in range(25)]  # ..2019-08
PARTITIONS = 4
VALUES = "/v1/indicators/fsm_virksomhedsforloeb/values?municipality={}&period=2019-06"
RANKING = "/v1/indicators/fsm_virksomhedsforloeb/ranking?period=2019-06"


async def fill(url: str) -> int:
    """Read models of a plausible size; returns the number of indicator_counts rows."""
    rng = random.Random(4)
    now = datetime.now(UTC)
    rows = []
    for definition in engine.CATALOGUE:
        curve = definition.population is Population.MONTHS_SINCE_VISITATION
        periods = [engine.curve_period(m) for m in range(1, 30)] if curve else PERIODS
        for code in municipalities():
            for group in definition.groups:
                for period in periods:
                    for partition in range(PARTITIONS):
                        denominator = rng.randint(0, 120)
                        numerator = rng.randint(0, denominator)
                        rows.append((definition.id, code, period, group, partition, numerator,
                                     denominator, 1_000_000, now))
    conn = await connect_to(url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await migrate(conn, SCHEMA)
        await conn.copy_records_to_table("indicator_counts", records=rows)
        await conn.execute("UPDATE event_store_head SET position = 1000000")
        await conn.executemany("INSERT INTO checkpoints (name, position) VALUES ($1, $2)",
                               [(f"metrics:p{p}", 1_000_000) for p in range(PARTITIONS)])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return len(rows)


async def connect_to(url: str) -> Any:
    from kommunepuls.config import Settings

    return await connect(Settings(profile="embedded", database_url=url,
                                  jwt_secret=JWT_SECRET, pseudonym_key=JWT_SECRET))
