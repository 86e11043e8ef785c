"""Bulk-load simulated events into an event store with COPY, for the rebuild benchmark.

What ingest stores, without ingest's per-request costs: each simulated envelope is
validated by the contract (`parse_event`; the deliberately invalid ones are dropped, as
ingest rejects them), pseudonymised with the same HMAC, and appended with gap-free
positions reserved on the store's head row, as `append` does, by COPY in large batches.
The simulator's exact duplicates (same event_id) are the only envelopes ingest stores
once; they are marked as such, so they are skipped rather than looked up.

Shards run in parallel processes, each a simulator run of its own seed. Each shard
pseudonymises with its own key, so two shards' citizens never merge into one citizen_id
(seeds draw CPR numbers independently and some coincide).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from kommunepuls.config import Settings
from kommunepuls.domain.events import data_json, parse_event
from kommunepuls.simulator.generator import SimConfig, generate
from kommunepuls.storage.db import connect
from kommunepuls.storage.event_store import COLUMNS, body_hash
from services.ingest.intake import pseudonymiser

COPY_ROWS = 20_000
EVENTS_PER_CITIZEN = 32.0  # the simulator's full run, faults on: ~33 stored per citizen
_LOCAL = ZoneInfo("Europe/Copenhagen")  # the simulator's clock is Danish local time


def shard_citizens(events: int, shards: int) -> int:
    """Citizens per shard so that a full simulated run yields a little more than needed."""
    return max(1, math.ceil(events / shards / EVENTS_PER_CITIZEN))


def _row(envelope: dict[str, Any], emitted: datetime, pseudonym: Any,
         key: bytes) -> tuple[Any, ...] | None:
    try:
        event = parse_event(envelope)
    except ValidationError:
        return None  # ingest would reject it
    citizen_id = pseudonym(event.cpr)
    data = data_json(event)
    fields = {"citizen_id": citizen_id, "municipality": event.municipality, "type": event.type,
              "schema_version": event.schema_version,
              "occurred_at": event.occurred_at.isoformat(), "source": event.source,
              "case_ref": event.case_ref, "data": data}
    # Position 0 is a placeholder: positions are reserved when the batch is written.
    return (0, UUID(event.event_id), citizen_id, event.municipality, event.type,
            event.schema_version, event.occurred_at, emitted.replace(tzinfo=_LOCAL),
            event.source, event.case_ref, data, body_hash(key, fields))


async def _write(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    async with conn.transaction():
        head = await conn.fetchval("UPDATE event_store_head SET position = position + $1 "
                                   "RETURNING position - $1", len(rows))
        await conn.copy_records_to_table(
            "events", records=[(head + n, *r[1:]) for n, r in enumerate(rows, start=1)],
            columns=COLUMNS)


async def load_shard_async(settings: Settings, shard: int, events: int, citizens: int,
                           seed: int) -> int:
    key = settings.secret("pseudonym_key") + f":shard-{shard}".encode()
    pseudonym = pseudonymiser(key)
    conn = await connect(settings)
    stored = 0
    rows: list[tuple[Any, ...]] = []
    try:
        for emission in generate(SimConfig(seed=seed + shard, citizens=citizens)):
            if emission.fault == "duplicate":
                continue
            row = _row(emission.envelope, emission.emit_at, pseudonym, key)
            if row is None:
                continue
            rows.append(row)
            if stored + len(rows) >= events:
                break
            if len(rows) == COPY_ROWS:
                await _write(conn, rows)
                stored += len(rows)
                rows = []
        if rows:
            await _write(conn, rows)
            stored += len(rows)
    finally:
        await conn.close()
    return stored


def _load_shard(settings: Settings, shard: int, events: int, citizens: int, seed: int) -> int:
    return asyncio.run(load_shard_async(settings, shard, events, citizens, seed))


async def load(settings: Settings, events: int, *, shards: int = 2, seed: int = 5) -> int:
    """Store about `events` simulated events (exactly, unless the runs yield fewer)."""
    per_shard = [events // shards + (1 if k < events % shards else 0) for k in range(shards)]
    citizens = shard_citizens(events, shards)
    if shards == 1:
        return await load_shard_async(settings, 0, per_shard[0], citizens, seed)
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(shards, mp_context=get_context("spawn")) as pool:
        done: Sequence[int] = await asyncio.gather(*(
            loop.run_in_executor(pool, _load_shard, settings, k, n, citizens, seed)
            for k, n in enumerate(per_shard)))
    return sum(done)
