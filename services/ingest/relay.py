"""The relay: publishes the event store, in position order, to `case-events` as segments.

At-least-once: the checkpoint moves only after the broker acknowledged every segment up to
it, so a crash between send and checkpoint re-sends exact copies, which consumers drop by
position. One relay runs at a time (a PostgreSQL advisory lock elects it), however many
ingest replicas there are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry, Counter, Gauge

from kommunepuls import segments
from kommunepuls.config import Settings
from kommunepuls.domain.records import StoredEvent
from kommunepuls.kafka import make_producer, topic_name
from kommunepuls.logs import get_logger
from kommunepuls.storage.checkpoints import (
    advance_checkpoint,
    bump_broker_epoch,
    metrics_through,
    read_checkpoint,
    write_checkpoint,
)
from kommunepuls.storage.event_store import APPENDED_CHANNEL, head_position, read_after

CHECKPOINT = "relay:case-events"
_LEADER_LOCK = 0x72656C61  # "rela"
READ_BATCH = 5000
log = get_logger("kommunepuls.relay")


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.published = Counter("kommunepuls_relay_events_published_total",
                                 "Events published to case-events.", registry=registry)
        self.segments = Counter("kommunepuls_relay_segments_published_total",
                                "Segments (Kafka records) published.", registry=registry)
        self.errors = Counter("kommunepuls_relay_publish_errors_total",
                              "Failed publish attempts (retried).", registry=registry)
        self.lag_events = Gauge("kommunepuls_relay_lag_events",
                                "Stored events not yet published.", registry=registry)
        self.lag_seconds = Gauge("kommunepuls_relay_lag_seconds",
                                 "Age of the oldest unpublished event.", registry=registry)


async def publish(producer: AIOKafkaProducer, topic: str, events: Sequence[StoredEvent],
                  settings: Settings) -> int:
    """Send events as segments and wait until the broker acknowledged all; return segments."""
    futures = []
    for segment in segments.split(events, settings.kafka_partitions, settings.segment_max_events):
        futures.append(await producer.send(
            topic, segments.encode(segment.events), partition=segment.partition,
            key=str(segment.partition).encode(), headers=segment.headers()))
    await asyncio.gather(*futures)
    return len(futures)


class Relay:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, registry: CollectorRegistry,
                 *, checkpoint: str = CHECKPOINT) -> None:
        self.settings = settings
        self.pool = pool
        self.topic = topic_name(settings, settings.topic_case_events)
        self.checkpoint = checkpoint
        self.metrics = RelayMetrics(registry)

    async def publish_pending(self, producer: AIOKafkaProducer) -> int:
        """Publish one batch after the checkpoint; return how many events it held."""
        after = await read_checkpoint(self.pool, self.checkpoint)
        events = await read_after(self.pool, after, READ_BATCH)
        head = await head_position(self.pool)
        self.metrics.lag_events.set(head - after)
        if not events:
            self.metrics.lag_seconds.set(0)
            return 0
        self.metrics.lag_seconds.set(max(0.0, time.time() - events[0].recorded_at.timestamp()))
        sent = await publish(producer, self.topic, events, self.settings)
        self.metrics.published.inc(len(events))
        self.metrics.segments.inc(sent)
        if await advance_checkpoint(self.pool, self.checkpoint, after, events[-1].position):
            self.metrics.lag_events.set(head - events[-1].position)
        else:
            # `recover` rewound the relay while this batch was out: go on from there.
            log.warning("relay checkpoint moved meanwhile; keeping it", read=after)
        return len(events)

    async def run(self, stop: asyncio.Event) -> None:
        idle_s = self.settings.segment_max_ms / 1000
        async with self.pool.acquire() as leader:
            while not stop.is_set():
                if await leader.fetchval("SELECT pg_try_advisory_lock($1)", _LEADER_LOCK):
                    break
                await _sleep_or_stop(stop, 1.0)
            if stop.is_set():
                return
            log.info("relay elected", topic=self.topic)
            # Woken by each append's commit instead of waiting out a poll interval: the
            # relay is the floor of the end-to-end latency. The poll stays as the fallback.
            appended = asyncio.Event()

            def wake(*_: object) -> None:
                appended.set()

            await leader.add_listener(APPENDED_CHANNEL, wake)
            # In production no other step creates the platform's topics (tests and `up` do).
            await _until_topics(self.settings, stop)
            try:
                while not stop.is_set():
                    producer = make_producer(self.settings)
                    try:
                        await producer.start()
                        while not stop.is_set():
                            appended.clear()
                            if await self.publish_pending(producer) < READ_BATCH:
                                await _wait_for_append(appended, stop, idle_s)
                    except Exception as exc:
                        # Broker or database away: count, wait, start over from the checkpoint.
                        self.metrics.errors.inc()
                        log.warning("relay publish failed; retrying", error=type(exc).__name__)
                        await _sleep_or_stop(stop, 1.0)
                    finally:
                        await producer.stop()
            finally:
                await leader.remove_listener(APPENDED_CHANNEL, wake)
                await leader.execute("SELECT pg_advisory_unlock($1)", _LEADER_LOCK)


async def _wait_for_append(appended: asyncio.Event, stop: asyncio.Event,
                           seconds: float) -> None:
    waits = [asyncio.ensure_future(appended.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def rewind_to_durable(pool: asyncpg.Pool, partitions: int) -> tuple[int, int]:
    """After the broker lost its data: move the relay back to where every metrics partition
    has durably processed case-events, so what was published but never counted is
    published again (consumers drop what they already have). Returns (old, new)."""
    async with pool.acquire() as conn, conn.transaction():
        # The cohorts worker forgets which citizens it evaluated, and which days it swept,
        # when the epoch moves: their facts may have been lost with the broker.
        epoch = await bump_broker_epoch(conn)
        old = await read_checkpoint(conn, CHECKPOINT)
        new = min(old, await metrics_through(conn, partitions))
        if new != old:
            await write_checkpoint(conn, CHECKPOINT, new)
    log.info("relay rewound after broker loss", old=old, new=new, broker_epoch=epoch)
    return old, new


async def _until_topics(settings: Settings, stop: asyncio.Event) -> None:
    from kommunepuls.kafka import ensure_topics

    while not stop.is_set():
        try:
            await ensure_topics(settings)
            return
        except Exception as exc:  # broker not reachable yet: the relay waits for it
            log.warning("cannot create topics yet", error=type(exc).__name__)
            await _sleep_or_stop(stop, 2.0)
