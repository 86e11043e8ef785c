"""Agents of the metrics service: citizens' facts in, indicator counts in PostgreSQL out."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import faust
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kommunepuls import facts
from kommunepuls.config import Settings
from kommunepuls.logs import get_logger
from kommunepuls.streaming import (
    Connections,
    consumer_lag_gauge,
    lag_after,
    observe_lag,
    send_dead_letter,
    until_done,
    watchdog_of,
)
from services.metrics.state import PartitionState
from services.metrics.store import flush as flush_partitions
from services.metrics.store import load_partition

log = get_logger("kommunepuls.metrics")
BATCH_RECORDS = 100
# Each batch is one flush (a transaction); at a steady rate this wait is part of the
# end-to-end latency, when catching up batches fill at once (see cohorts' BATCH_WITHIN_S).
BATCH_WITHIN_S = 0.02
# While cohorts works through a backlog (facts.HEADER_MORE), each flush rewrites nearly
# every cell (each chunk of citizens touches most of them), so its cost does not depend
# on how many facts it carries: after such a flush the worker waits as long as the flush
# took (at most this), and the facts that arrive meanwhile share the next one. A record
# without the header (cohorts caught up) ends the wait at once, and facts that arrived
# during the flush skip it (waiting then only delayed the end of a catch-up, by up to
# this much: the last records sat behind ones marked `more`).
PAUSE_MAX_S = 2.0


class MetricsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.facts = Counter("kommunepuls_metrics_facts_total", "Citizen facts received.",
                             ["outcome"], registry=registry)
        self.dead = Counter("kommunepuls_dead_letters_total",
                            "Records sent to the dead-letter topic.", ["service"],
                            registry=registry)
        self.flush = Histogram("kommunepuls_metrics_read_model_write_duration_seconds",
                               "Time to write one batch to the read models.", registry=registry,
                               buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.lag = consumer_lag_gauge("metrics", registry)
        self.citizens = Gauge("kommunepuls_metrics_citizens", "Citizens held in memory.",
                              ["partition"], registry=registry)
        self.through = Gauge("kommunepuls_metrics_events_through_position",
                             "Event store position the partition's read models reflect.",
                             ["partition"], registry=registry)
        self.paused = Counter("kommunepuls_metrics_backlog_pause_seconds_total",
                              "Time spent waiting between flushes while cohorts was behind.",
                              registry=registry)


def records_waiting(app: faust.App, batch: list[Any]) -> int:
    return sum(lag_after(app, batch).values())


def more_coming(records: list[tuple[int, bytes, dict[str, bytes]]]) -> bool:
    """Whether the newest record of every partition in the batch says cohorts is behind."""
    more: dict[int, bool] = {}
    for partition, _, headers in records:
        more[partition] = facts.HEADER_MORE in headers
    return bool(more) and all(more.values())


def should_pause(records: list[tuple[int, bytes, dict[str, bytes]]],
                 waiting: Callable[[], int]) -> bool:
    """After a flush: wait for more of a backlog's facts, unless some are already here
    (they arrived during the flush: take them at once)."""
    return more_coming(records) and not waiting()


class MetricsWorker:
    def __init__(self, settings: Settings, registry: CollectorRegistry, dead_topic: str) -> None:
        self.settings = settings
        self.metrics = MetricsMetrics(registry)
        self.dead_topic = dead_topic
        self.partitions: dict[int, PartitionState] = {}
        self.io = Connections(settings)
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        # Set when a record without facts.HEADER_MORE arrives: cohorts has caught up.
        self.caught_up = asyncio.Event()

    async def start(self) -> None:
        self.pool, self.producer = await self.io.open()

    async def state(self, partition: int) -> PartitionState:
        assert self.pool is not None
        found = self.partitions.get(partition)
        if found is None:
            found = self.partitions[partition] = await load_partition(self.pool, partition)
            log.info("loaded partition", partition=partition, citizens=len(found.citizens),
                     through=found.through)
        return found

    async def state_retrying(self, partition: int) -> PartitionState:
        found: list[PartitionState] = []

        async def load() -> None:
            found.append(await self.state(partition))

        await until_done(load, "load", log)
        return found[0]

    async def flush(self, states: list[PartitionState]) -> None:
        assert self.pool is not None
        await flush_partitions(self.pool, states)

    def forget(self, partitions: set[int]) -> None:
        # Everything is flushed before a batch is acknowledged: nothing to save here.
        for partition in partitions:
            self.partitions.pop(partition, None)

    async def process(self, records: list[tuple[int, bytes, dict[str, bytes]]],
                      waiting: Callable[[], int] = lambda: 0) -> None:
        """Apply a batch of facts and flush them; `waiting`: how many records are already
        waiting behind the batch (asked after the flush)."""
        await until_done(self.start, "connect", log)
        self.caught_up.clear()  # this batch's records are judged below
        touched: set[int] = set()
        for partition, value, headers in records:
            try:
                batch = facts.decode(value)
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                await self.dead_letter(value, f"undecodable facts: {type(exc).__name__}")
                continue
            state = await self.state_retrying(partition)
            for fact in batch:
                outcome = "applied" if state.apply(fact) else "stale"
                self.metrics.facts.labels(outcome).inc()
            through = headers.get(facts.HEADER_THROUGH)
            if through:
                state.through = max(state.through, int(through))
            touched.add(partition)
        started = time.perf_counter()
        states = [self.partitions[p] for p in sorted(touched)]
        # Applied facts stay dirty until a flush succeeds, so retrying loses nothing.
        await until_done(lambda: self.flush(states), "flush", log)
        for state in states:
            self.metrics.citizens.labels(str(state.partition)).set(len(state.citizens))
            self.metrics.through.labels(str(state.partition)).set(state.through)
        took = time.perf_counter() - started
        self.metrics.flush.observe(took)
        if should_pause(records, waiting):
            await self.pause(min(took, PAUSE_MAX_S))

    async def pause(self, seconds: float) -> None:
        started = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.caught_up.wait(), seconds)
        self.metrics.paused.inc(time.perf_counter() - started)

    def note_arrival(self, headers: Any) -> None:
        """Called for each record as it reaches the agent's buffer, before its batch."""
        if not any(key == facts.HEADER_MORE for key, _ in headers or ()):
            self.caught_up.set()

    async def dead_letter(self, value: bytes, reason: str) -> None:
        assert self.producer is not None
        await send_dead_letter(self.producer, self.dead_topic, value, reason=reason,
                               service="metrics")
        self.metrics.dead.labels("metrics").inc()
        log.warning("dead-lettered a record", reason=reason)


def register_agents(app: faust.App, source: faust.TopicT, worker: MetricsWorker) -> None:
    worker.io.close_on_shutdown(app)

    watchdog = watchdog_of(app)

    @app.agent(source, name="count_indicator_members")
    async def count_indicator_members(stream: Any) -> None:
        def arrived(value: Any) -> Any:
            event = stream.current_event
            if event is not None:
                worker.note_arrival(event.message.headers)
            return value

        stream.add_processor(arrived)
        async for batch in stream.take_events(BATCH_RECORDS, within=BATCH_WITHIN_S):
            # The batch is flushed to PostgreSQL before faust may acknowledge it; if it
            # raises, the watchdog ends the worker with the batch unacknowledged.
            await watchdog.guard("count_indicator_members", worker.process(
                [(e.message.partition, e.value, dict(e.message.headers or ()))
                 for e in batch], functools.partial(records_waiting, app, batch)))
            observe_lag(app, worker.metrics.lag, batch)

    @app.on_partitions_revoked.connect
    async def drop_revoked_partitions(sender: Any, revoked: set[Any], **_: Any) -> None:
        worker.forget({tp.partition for tp in revoked if tp.topic == source.get_topic_name()})
