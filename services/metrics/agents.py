"""Agents of the metrics service: citizens' facts in, indicator counts in PostgreSQL out."""

from __future__ import annotations

import asyncio
import contextlib
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
    observe_lag,
    send_dead_letter,
    until_done,
    watchdog_of,
)
from services.metrics.state import PartitionState
from services.metrics.store import flush as flush_partitions
from services.metrics.store import load_partition

log = get_logger("kommunepuls.metrics")
# Each batch is one flush (a transaction). Large enough that what arrives during a pause
# (below) is one batch: a second batch would be a second flush of nearly every cell.
BATCH_RECORDS = 2000
# At a steady rate this wait is part of the end-to-end latency, when catching up batches
# fill at once (see cohorts' BATCH_WITHIN_S).
BATCH_WITHIN_S = 0.02
# While cohorts works through a backlog (facts.HEADER_MORE), each flush rewrites nearly
# every cell (each chunk of citizens touches most of them), so its cost hardly depends on
# how many facts it carries: after such a flush the worker waits PAUSE_FLUSHES times as
# long as the flush took (at most PAUSE_MAX_S), even with facts waiting, and the next
# flush takes them all. The facts that arrive meanwhile are applied as they come
# (MetricsWorker.note_arrival), so the wait defers no work. A record without the header
# (cohorts caught up) ends the wait at once, seen as faust takes it off the consumer
# (ArrivalSchema): the agent's own buffer sees one record past its batch, so a first
# version, which judged by that one, waited up to 2 s at the end of a catch-up, with the
# last records queued behind ones marked `more`.
# bench.stream's catch-up (15,000 citizens, ~34,000 cells): with 3x / 4 s the worker
# flushed 4 times, with 8x / 8 s twice; revisions 86-119k -> 57k rows, PostgreSQL CPU
# 3.2-4.1 -> 2.6-2.7 s. While catching up the read models then move every ~10 s at most,
# never more than PAUSE_MAX_S behind what cohorts has sent; at a steady rate (no header)
# there is no wait at all.
PAUSE_FLUSHES = 8.0
PAUSE_MAX_S = 8.0


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


def more_coming(records: list[tuple[int, bytes, dict[str, bytes]]]) -> bool:
    """Whether the newest record of every partition in the batch says cohorts is behind."""
    more: dict[int, bool] = {}
    for partition, _, headers in records:
        more[partition] = facts.HEADER_MORE in headers
    return bool(more) and all(more.values())


def should_pause(records: list[tuple[int, bytes, dict[str, bytes]]], caught_up: bool) -> bool:
    """After a flush: wait for more of a backlog's facts, unless a record that ends the
    backlog has already arrived (take it at once)."""
    return more_coming(records) and not caught_up


class ArrivalSchema(faust.Schema):
    """Raw bytes, and each record shown to `on_arrival` as faust takes it off the consumer:
    before it queues for the agent, so also while the agent is busy."""

    def __init__(self, on_arrival: Callable[[int, int, Any, bytes], None]) -> None:
        super().__init__(key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw")
        self.on_arrival = on_arrival

    def loads_value(self, app: Any, message: Any, *, loads: Callable[..., Any] | None = None,
                    serializer: Any = None) -> Any:
        self.on_arrival(message.partition, message.offset, message.headers, message.value)
        return super().loads_value(app, message, loads=loads, serializer=serializer)


class MetricsWorker:
    def __init__(self, settings: Settings, registry: CollectorRegistry, dead_topic: str) -> None:
        self.settings = settings
        self.metrics = MetricsMetrics(registry)
        self.dead_topic = dead_topic
        self.partitions: dict[int, PartitionState] = {}
        self.io = Connections(settings)
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        # partition -> offset of the newest record that arrived without facts.HEADER_MORE
        # (cohorts had caught up), and of the newest record processed.
        self.plain: dict[int, int] = {}
        self.taken: dict[int, int] = {}
        self.plain_arrived = asyncio.Event()
        # Records whose facts were applied as they arrived (note_arrival), not yet processed.
        self.early: set[tuple[int, int]] = set()
        self.flushing = False
        # A partition's state is loaded when its first record arrives (note_arrival), not
        # when the agent first processes one: until then its facts cannot be applied as
        # they arrive. Loaded lazily, the three partitions a catch-up's first batch did not
        # name had ~95 of ~120 records applied only after the pause, 0.6 s of the tail.
        self.loads: dict[int, asyncio.Task[PartitionState]] = {}

    async def start(self) -> None:
        self.pool, self.producer = await self.io.open()

    async def state(self, partition: int) -> PartitionState:
        found = self.partitions.get(partition)
        if found is not None:
            return found
        return await asyncio.shield(self._loading(partition))

    def _loading(self, partition: int) -> asyncio.Task[PartitionState]:
        """The partition's load, started unless one is running or done (one load a
        partition: a second would replace a state facts were applied to)."""
        loading = self.loads.get(partition)
        failed = loading is not None and loading.done() and (
            loading.cancelled() or loading.exception() is not None)
        if loading is None or failed:
            loading = self.loads[partition] = asyncio.ensure_future(self._load(partition))
        return loading

    async def _load(self, partition: int) -> PartitionState:
        assert self.pool is not None
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
        self.flushing = True  # a flush reads the dirty state across awaits: leave it be
        try:
            await flush_partitions(self.pool, states)
        finally:
            self.flushing = False

    def forget(self, partitions: set[int]) -> None:
        # Everything is flushed before a batch is acknowledged: nothing to save here.
        for partition in partitions:
            self.partitions.pop(partition, None)
            self.plain.pop(partition, None)
            self.taken.pop(partition, None)
            loading = self.loads.pop(partition, None)
            if loading is not None:
                loading.cancel()  # a load finishing later would bring the state back
        self.early = {(p, o) for p, o in self.early if p not in partitions}

    def caught_up(self) -> bool:
        """Whether a record without facts.HEADER_MORE arrived and is not yet processed."""
        return any(offset > self.taken.get(p, -1) for p, offset in self.plain.items())

    async def process(self, records: list[tuple[int, bytes, dict[str, bytes]]],
                      offsets: list[int] | None = None) -> None:
        """Apply a batch of facts and flush them; `offsets`: each record's offset."""
        await until_done(self.start, "connect", log)
        touched: set[int] = set()
        for k, (partition, value, headers) in enumerate(records):
            offset = offsets[k] if offsets is not None else -1
            self.taken[partition] = max(self.taken.get(partition, -1), offset)
            if (partition, offset) in self.early:
                self.early.discard((partition, offset))
            else:
                try:
                    batch = facts.decode(value)
                except (ValueError, TypeError, KeyError, IndexError) as exc:
                    await self.dead_letter(value, f"undecodable facts: {type(exc).__name__}")
                    continue
                self.apply(await self.state_retrying(partition), batch)
            state = self.partitions.get(partition) or await self.state_retrying(partition)
            # Only here, in order: the checkpoint moves once all earlier records are applied.
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
        if should_pause(records, self.caught_up()):
            await self.pause(min(took * PAUSE_FLUSHES, PAUSE_MAX_S))

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or until a record says cohorts has caught up."""
        started = time.perf_counter()
        deadline = started + seconds
        while not self.caught_up() and (left := deadline - time.perf_counter()) > 0:
            self.plain_arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.plain_arrived.wait(), left)
        self.metrics.paused.inc(time.perf_counter() - started)

    def apply(self, state: PartitionState, batch: list[facts.Fact]) -> None:
        for fact in batch:
            outcome = "applied" if state.apply(fact) else "stale"
            self.metrics.facts.labels(outcome).inc()

    def note_arrival(self, partition: int, offset: int, headers: Any, value: bytes) -> None:
        """Called for each record as faust takes it off the consumer (ArrivalSchema).

        Between flushes its facts are applied at once, so a pause costs no work later: a
        fact is absolute and carries its version, so applying a citizen's facts before
        an earlier record's is harmless (the older is refused), and a flush that holds
        facts of records not yet acknowledged only makes their redelivery stale."""
        if not any(key == facts.HEADER_MORE for key, _ in headers or ()):
            self.plain[partition] = max(self.plain.get(partition, -1), offset)
            self.plain_arrived.set()
        state = self.partitions.get(partition)
        if state is None and partition not in self.loads and self.pool is not None:
            # A failed load is retried by the agent (state_retrying); only log it here.
            self._loading(partition).add_done_callback(_log_failed_load)
        if state is None or self.flushing or offset <= self.taken.get(partition, -1):
            return
        try:
            batch = facts.decode(value)
        except (ValueError, TypeError, KeyError, IndexError):
            return  # the agent dead-letters it
        try:
            self.apply(state, batch)
        except Exception:
            # Never raise into faust's decoding, which would drop the record: the agent
            # applies it again (what was applied here is then stale) and fails as before.
            log.exception("applying arriving facts failed; left to the agent",
                          partition=partition, offset=offset)
            return
        self.early.add((partition, offset))

    async def dead_letter(self, value: bytes, reason: str) -> None:
        assert self.producer is not None
        await send_dead_letter(self.producer, self.dead_topic, value, reason=reason,
                               service="metrics")
        self.metrics.dead.labels("metrics").inc()
        log.warning("dead-lettered a record", reason=reason)


def _log_failed_load(loading: asyncio.Task[PartitionState]) -> None:
    if not loading.cancelled() and loading.exception() is not None:
        log.warning("loading a partition on arrival failed; the agent retries",
                    error=repr(loading.exception()))


def register_agents(app: faust.App, source: faust.TopicT, worker: MetricsWorker) -> None:
    worker.io.close_on_shutdown(app)

    watchdog = watchdog_of(app)

    @app.agent(source, name="count_indicator_members")
    async def count_indicator_members(stream: Any) -> None:
        async for batch in stream.take_events(BATCH_RECORDS, within=BATCH_WITHIN_S):
            # The batch is flushed to PostgreSQL before faust may acknowledge it; if it
            # raises, the watchdog ends the worker with the batch unacknowledged.
            await watchdog.guard("count_indicator_members", worker.process(
                [(e.message.partition, e.value, dict(e.message.headers or ()))
                 for e in batch], [e.message.offset for e in batch]))
            observe_lag(app, worker.metrics.lag, batch)

    # faust awaits async receivers; its types name only sync ones
    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def drop_revoked_partitions(sender: Any, revoked: set[Any], **_: Any) -> None:
        worker.forget({tp.partition for tp in revoked if tp.topic == source.get_topic_name()})
