"""Agents of the cohorts service: case-event segments in, citizens' facts out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from contextlib import aclosing
from datetime import date
from typing import Any

import asyncpg
import faust
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry, Counter, Histogram

from kommunepuls import facts, segments
from kommunepuls.clock import platform_today
from kommunepuls.config import Settings
from kommunepuls.logs import get_logger
from kommunepuls.storage.checkpoints import read_broker_epoch
from kommunepuls.streaming import (
    Connections,
    consumer_lag_gauge,
    lag_after,
    observe_lag,
    send_dead_letter,
    until_done,
    watchdog_of,
)
from services.cohorts.evaluate import by_partition, iter_facts, sweep

log = get_logger("kommunepuls.cohorts")
# faust hands us up to this many segments (≤ 500 events each) at once: one store read and
# one fold per citizen per batch, however many of its events the batch holds. Only a
# backlog fills a batch; then each batch's first history read waits unoverlapped (0.3-0.8 s
# here), so fewer, larger batches catch up sooner: 400 instead of 100 evaluated a fresh
# 15,000-citizen store in 2 batches instead of 7.
BATCH_SEGMENTS = 400
# When catching up, batches fill at once and this wait never applies; at a steady rate it
# is what an event waits here, so it is part of the end-to-end latency (bench/latency.py).
# faust delivers ~5-6k records/s, so a full batch takes ~20 ms to arrive anyway: a longer
# window only adds latency (0.1 s cost ~100 ms of p99), a shorter one only adds batches.
BATCH_WITHIN_S = 0.02
FACTS_PER_RECORD = 200
# Behind: at least this many segments still wait after a batch. A quarter of a full batch
# (each segment holds up to 500 events): at a steady rate a few segments wait at most.
BEHIND_SEGMENTS = BATCH_SEGMENTS // 4


def catching_up(lag: dict[int, int], partitions: Iterable[int]) -> bool:
    """Whether the worker is working through a backlog after a batch of these partitions,
    given the records still waiting per partition (`streaming.lag_after`, which leaves out
    a partition whose end is not known yet). Unknown counts as behind: that is a partition
    just assigned, and a worker that has just started mostly finds a backlog; judged as
    caught up, its first facts ended the metrics worker's pause at once (bench.stream:
    3-4 flushes of nearly every cell instead of 2). Wrong at a steady rate, it costs one
    pause of a few tens of ms."""
    return any(p not in lag for p in partitions) or sum(lag.values()) >= BEHIND_SEGMENTS


class CohortsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter("kommunepuls_cohorts_events_processed_total",
                              "Case events folded into citizen state.", registry=registry)
        self.facts = Counter("kommunepuls_cohorts_facts_emitted_total",
                             "Citizen facts sent to cohort-facts.", ["reason"], registry=registry)
        self.dead = Counter("kommunepuls_dead_letters_total",
                            "Records sent to the dead-letter topic.", ["service"],
                            registry=registry)
        self.lag = consumer_lag_gauge("cohorts", registry)
        self.batch = Histogram("kommunepuls_cohorts_batch_duration_seconds",
                               "Time to evaluate one batch of segments.", registry=registry,
                               buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class CohortsWorker:
    """Everything the agent needs, built once per process (no globals)."""

    def __init__(self, settings: Settings, registry: CollectorRegistry,
                 facts_topic: str, dead_topic: str) -> None:
        self.settings = settings
        self.metrics = CohortsMetrics(registry)
        self.facts_topic = facts_topic
        self.dead_topic = dead_topic
        self.io = Connections(settings)
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.evaluated_day: dict[int, date] = {}  # partition -> day its citizens were swept
        self.last_sweep = 0.0
        # citizen -> version of its last evaluation; losing it only costs rework. Keys and
        # versions as single ints (facts.citizen_key, facts.version_key): ~140 instead of
        # ~270 bytes a citizen, for every citizen the worker has seen.
        self.evaluated: dict[facts.CitizenKey, int] = {}
        # Batches and clock ticks take turns: facts of one partition must leave in the
        # order they were evaluated, or an older evaluation could overwrite a newer one.
        self.turn = asyncio.Lock()
        self.broker_epoch: int | None = None  # as last read (checkpoints.read_broker_epoch)

    async def start(self) -> None:
        self.pool, self.producer = await self.io.open()

    async def send(self, partition: int, batch: Sequence[facts.Fact], through: int | None,
                   reason: str, *, wait: bool = True,
                   more: bool = False) -> list[asyncio.Future[Any]]:
        """Send a partition's facts; unless `wait`, return the futures of the broker's
        acknowledgements instead of waiting for them. `more`: more facts of a backlog
        follow soon (facts.HEADER_MORE)."""
        assert self.producer is not None
        futures = []
        for start in range(0, max(len(batch), 1), FACTS_PER_RECORD):
            chunk = batch[start:start + FACTS_PER_RECORD]
            headers = [(facts.HEADER_THROUGH, str(through).encode())] if through else []
            if more:
                headers.append((facts.HEADER_MORE, b"1"))
            futures.append(await self.producer.send(
                self.facts_topic, facts.encode(chunk), partition=partition,
                key=str(partition).encode(), headers=headers))
        self.metrics.facts.labels(reason).inc(len(batch))
        if wait:
            await asyncio.gather(*futures)
            return []
        return futures

    async def send_chunk(self, found: list[facts.Fact], last: bool, partitions: Iterable[int],
                         reason: str, *, through: dict[int, int] | None = None,
                         more: bool = False) -> list[asyncio.Future[Any]]:
        """Remember and send a chunk of facts by partition, without waiting for the broker;
        return the acknowledgements' futures. Every chunk but the last says `more`; the
        last names each of `partitions` (an empty record if need be) and carries its
        `through`: the metrics side moves its checkpoint, or ends its pause, only then."""
        self.remember(found)
        grouped = dict(by_partition(found, self.settings.kafka_partitions))
        sending = []
        for partition in sorted(partitions) if last else sorted(grouped):
            sending += await self.send(partition, grouped.get(partition, []),
                                       (through or {}).get(partition) if last else None,
                                       reason, wait=False, more=more or not last)
        return sending

    async def process(self, records: list[tuple[int, bytes]], *, behind: bool = False) -> None:
        """Evaluate the citizens of a batch of segments and send their facts; `behind`:
        at least another batch is already waiting."""
        await until_done(self.start, "connect", log)
        async with self.turn:
            await until_done(lambda: self._process(records, behind), "process", log)

    async def tick(self, partitions: list[int]) -> None:
        """A clock tick: sweep partitions whose day has passed even if no event came."""
        await until_done(self.start, "connect", log)
        async with self.turn:

            async def step() -> None:
                assert self.pool is not None
                await self.forget_if_broker_lost()
                await self.sweep_if_new_day(partitions,
                                            await platform_today(self.settings, self.pool))

            await until_done(step, "tick", log)

    async def _process(self, records: list[tuple[int, bytes]], behind: bool) -> None:
        assert self.pool is not None
        started = time.perf_counter()
        today = await platform_today(self.settings, self.pool)
        await self.forget_if_broker_lost()
        partitions = sorted({p for p, _ in records})
        await self.sweep_if_new_day(partitions, today)
        citizens: dict[int, dict[str, int]] = {}  # partition -> citizen -> newest position
        through: dict[int, int] = {}
        for partition, value in records:
            try:
                events = segments.positions(value)
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                await self.dead_letter(value, f"undecodable segment: {type(exc).__name__}")
                continue
            self.metrics.events.inc(len(events))
            newest = citizens.setdefault(partition, {})
            for citizen_id, position in events:
                if position > newest.get(citizen_id, 0):
                    newest[citizen_id] = position
            if events:
                through[partition] = max(through.get(partition, 0), events[-1][1])
        day = today.toordinal()
        # An evaluation reads all of a citizen's stored events, often more than the stream
        # has delivered yet: skip citizens already evaluated past these events (catching
        # up, most are), so each is folded about once, not once per segment.
        seen = self.evaluated
        wanted = [c for newest in citizens.values() for c, position in newest.items()
                  if seen.get(facts.citizen_key(c), -1) < facts.version_key(position, day)]
        # The batch's citizens of every partition are read together, a chunk at a time, and
        # each chunk's facts leave at once, so the metrics worker counts while the rest is
        # folded. `through` goes last, with the partition's final record (an empty one if
        # need be): metrics' checkpoint moves only once all the partition's facts are sent.
        # A batch that evaluates nobody says no more is coming even if segments wait: the
        # rest of a catch-up's segments hold citizens already evaluated (this one read
        # their whole stored history), so the metrics worker's last flush can start now
        # instead of after them (bench.stream: ~0.35 s of such batches at the end).
        more = behind and bool(wanted)
        sending = []
        async for found, last in iter_facts(self.pool, wanted, today):
            sending += await self.send_chunk(found, last, citizens, "events", through=through,
                                             more=more)
        await asyncio.gather(*sending)
        self.metrics.batch.observe(time.perf_counter() - started)

    async def forget_if_broker_lost(self) -> None:
        """After `kommunepuls recover` (the broker lost its data), forget which citizens were
        evaluated and which days were swept: their facts may have been lost before the
        metrics worker counted them. The relay publishes their events again, and skipped
        as already evaluated they would never be counted (tests/integration/test_faults.py)."""
        assert self.pool is not None
        epoch = await read_broker_epoch(self.pool)
        if self.broker_epoch is not None and epoch != self.broker_epoch:
            log.warning("the broker lost its data; evaluating citizens again",
                        broker_epoch=epoch, forgotten=len(self.evaluated))
            self.evaluated.clear()
            self.evaluated_day.clear()
        self.broker_epoch = epoch

    async def sweep_if_new_day(self, partitions: list[int], today: date) -> None:
        """Windows move with the clock: on a new day, re-evaluate every citizen."""
        assert self.pool is not None
        stale = {p for p in partitions if self.evaluated_day.get(p) != today}
        if not stale:
            return
        # First sight of a partition (start, rebalance): ask the metrics side which day its
        # facts were evaluated on.
        for p in stale - self.evaluated_day.keys():
            oldest = await self.pool.fetchval(
                "SELECT min(day) FROM citizen_contributions WHERE partition = $1", p)
            self.evaluated_day[p] = oldest or today
        stale = {p for p in stale if self.evaluated_day[p] != today}
        # A simulated clock may move a day a second: sweep at most every sweep_interval_s
        # (the facts' day in their version keeps late sweeps harmless).
        if stale and time.monotonic() - self.last_sweep < self.settings.sweep_interval_s:
            return
        if stale:
            self.last_sweep = time.monotonic()
            count = self.settings.kafka_partitions
            swept = 0
            # Each chunk's facts leave as soon as it is folded, while the next chunk is
            # read: the sweep never holds more than a chunk or two, whatever the store's
            # size. One chunk's records are in flight at a time, so the broker's
            # acknowledgements are awaited while the next chunk is folded, and all of them
            # before the partitions count as swept. All but the last chunk's records say
            # `more`, so the metrics worker flushes the sweep a few times, not per chunk
            # (17-21 flushes for 6,000 citizens without the header, 3-4 with it); the last
            # names every swept partition, so each partition's pause ends.
            sending: list[asyncio.Future[Any]] = []
            async with aclosing(sweep(self.pool, stale, count, today)) as chunks:
                async for found, last in chunks:
                    await asyncio.gather(*sending)
                    sending = await self.send_chunk(found, last, stale, "new_day")
                    swept += len(found)
            await asyncio.gather(*sending)
            log.info("swept citizens for a new day", day=today.isoformat(), citizens=swept)
        for p in stale:
            self.evaluated_day[p] = today

    def remember(self, batch: Iterable[facts.Fact]) -> None:
        for fact in batch:
            self.evaluated[facts.citizen_key(fact.citizen_id)] = facts.version_key(*fact.version)

    async def dead_letter(self, value: bytes, reason: str) -> None:
        assert self.producer is not None
        await send_dead_letter(self.producer, self.dead_topic, value, reason=reason,
                               service="cohorts")
        self.metrics.dead.labels("cohorts").inc()
        log.warning("dead-lettered a record", reason=reason)


def register_agents(app: faust.App, source: faust.TopicT, worker: CohortsWorker,
                    tick_seconds: float = 1.0) -> None:
    worker.io.close_on_shutdown(app)

    watchdog = watchdog_of(app)

    @app.agent(source, name="track_citizen_state")
    async def track_citizen_state(stream: Any) -> None:
        async for batch in stream.take_events(BATCH_SEGMENTS, within=BATCH_WITHIN_S):
            # Catching up: the facts say so (facts.HEADER_MORE).
            behind = catching_up(lag_after(app, batch), {e.message.partition for e in batch})
            # If it raises, the watchdog ends the worker with the batch unacknowledged.
            await watchdog.guard("track_citizen_state", worker.process(
                [(e.message.partition, e.value) for e in batch], behind=behind))
            observe_lag(app, worker.metrics.lag, batch)

    @app.timer(tick_seconds)
    async def move_windows_with_the_clock() -> None:
        assigned = app.consumer.assignment() if app.consumer else set()
        partitions = sorted(tp.partition for tp in assigned if tp.topic == source.get_topic_name())
        if partitions:
            await watchdog.guard("move_windows_with_the_clock", worker.tick(partitions))
