"""Republish the event store from any position: Kafka is rebuilt from the record of truth."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

from kommunepuls.config import Settings
from kommunepuls.kafka import ensure_topics, make_producer, topic_name
from kommunepuls.storage.db import create_pool
from kommunepuls.storage.event_store import head_position, read_after

BATCH = 5000


async def replay_store(settings: Settings, from_position: int, to_topic: str | None,
                       *, console: Console | None = None) -> int:
    from services.ingest.relay import publish  # the relay's own segmenting, not a copy

    topic = to_topic or topic_name(settings, settings.topic_case_events)
    await ensure_topics(settings, [topic])
    pool = await create_pool(settings, max_size=2)
    producer = make_producer(settings)
    await producer.start()
    total = 0
    try:
        head = await head_position(pool)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"replaying to {topic}", total=max(0, head - from_position))
            after = from_position
            while events := await read_after(pool, after, BATCH):
                await publish(producer, topic, events, settings)
                after = events[-1].position
                total += len(events)
                progress.update(task, advance=len(events))
    finally:
        await producer.stop()
        await pool.close()
    return total
