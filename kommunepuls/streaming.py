"""The faust app both stream services are built on: broker timeouts, web, health, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import faust
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from faust.transport.drivers import aiokafka as faust_aiokafka
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from kommunepuls.config import Settings
from kommunepuls.kafka import make_producer
from kommunepuls.storage.db import create_pool
from kommunepuls.watchdog import AgentWatchdog

# faust hard-codes a 1.5 s fetch wait, and Tansu answers a waiting fetch only when the wait
# runs out: each stage then delivers records up to 1.5 s late (measured with a lone
# consumer: p50/max 335/695 ms at 1,500 ms, 5/16 ms at 20 ms). With Apache Kafka a short
# wait only costs a few more idle fetches.
FETCH_MAX_WAIT_MS = 100


def _shorten_fetch_wait() -> None:
    thread = faust_aiokafka.AIOKafkaConsumerThread
    create = thread._create_worker_consumer
    if getattr(create, "kommunepuls_short_wait", False):
        return

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts
        return consumer

    create_worker_consumer.kommunepuls_short_wait = True  # type: ignore[attr-defined]
    thread._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]


def create_faust_app(settings: Settings, *, name: str, web_port: int,
                     registry: CollectorRegistry) -> faust.App:
    _shorten_fetch_wait()
    datadir = settings.data_dir / "faust" / name
    datadir.mkdir(parents=True, exist_ok=True)
    watchdog = AgentWatchdog(name, registry)
    app = faust.App(
        f"{settings.topic_prefix}kommunepuls-{name}",
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        # Against Tansu a member needs ~30 s to join with faust's defaults (measurements.md).
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=3.0,
        producer_acks=-1,
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        store="memory://",
        web_enabled=True,
        web_host=settings.worker_host,
        web_bind=settings.worker_host,
        web_port=web_port,
        web_in_thread=False,
        datadir=str(datadir),
        consumer_auto_offset_reset="earliest",
        agent_supervisor=watchdog.supervisor(),
    )
    health: dict[str, Any] = {"assigned": False, "partitions": []}
    app.conf.kommunepuls_health = health  # type: ignore[attr-defined]
    app.conf.kommunepuls_watchdog = watchdog  # type: ignore[attr-defined]

    # faust awaits async receivers; its types name only sync ones
    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _assigned(sender: Any, assigned: set[Any], **_: Any) -> None:
        health["assigned"] = True
        health["partitions"] = sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        if watchdog.crash is not None:
            return web.json({"status": "crashed", "service": name, **watchdog.crash.model_dump(),
                             "partitions": health["partitions"]}, status=503)
        # Healthy = the worker joined its group (received an assignment, possibly empty).
        status = 200 if health["assigned"] else 503
        return web.json({"status": "ok" if status == 200 else "joining", "service": name,
                         "partitions": health["partitions"]}, status=status)

    # Open, unlike the gateway's: worker counters, lags and timings, no indicator figures.
    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        # As a header: aiohttp refuses a content_type argument that carries a charset,
        # and Prometheus's exposition type does.
        return web.bytes(generate_latest(registry),
                         headers={"Content-Type": CONTENT_TYPE_LATEST})

    return app


def watchdog_of(app: faust.App) -> AgentWatchdog:
    """The watchdog `create_faust_app` gave this app: agents run their steps under it."""
    watchdog: AgentWatchdog = app.conf.kommunepuls_watchdog  # type: ignore[attr-defined]
    return watchdog


def run_worker(app: faust.App, settings: Settings) -> None:
    """Run a faust worker in this process until SIGINT/SIGTERM."""
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True,
                          override_logging=False)
    worker.execute_from_commandline()


class Connections:
    """A worker's PostgreSQL pool and Kafka producer, opened on first use inside the
    worker's event loop and closed when faust shuts down (after its consumer stopped)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> tuple[asyncpg.Pool, AIOKafkaProducer]:
        async with self._lock:
            if self._pool is None:
                self._pool = await create_pool(self.settings, max_size=4)
            if self._producer is None:
                producer = make_producer(self.settings)
                await producer.start()
                self._producer = producer
        return self._pool, self._producer

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def close_on_shutdown(self, app: faust.App) -> None:
        # faust awaits async receivers; its types name only sync ones
        @app.on_before_shutdown.connect  # type: ignore[arg-type]
        async def _close(sender: Any, **_: Any) -> None:
            await self.close()


# InternalClientError: a connection whose server died mid-operation ("cannot switch to
# state 15; another operation is in progress"). Not retried, it crashed the metrics agent
# while the worker stayed healthy: the fault test caught it once in four runs.
TRANSIENT = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
             asyncpg.InternalClientError, asyncpg.CannotConnectNowError,
             asyncpg.AdminShutdownError, KafkaError, TimeoutError)


async def until_done(step: Callable[[], Awaitable[None]], what: str,
                     log: Any, *, max_wait_s: float = 5.0) -> None:
    """Retry a step through outages of PostgreSQL or the broker.

    faust acknowledges a record even when the agent raises, so a batch must not be given
    up on a transient error: it would be lost. The step must be safe to repeat (ours are:
    facts are versioned, flushes are upserts).
    """
    wait = 0.2
    while True:
        try:
            await step()
            return
        except TRANSIENT as exc:
            log.warning("transient failure; retrying", step=what, error=type(exc).__name__,
                        retry_in_s=wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, max_wait_s)


def consumer_lag_gauge(service: str, registry: CollectorRegistry) -> Gauge:
    return Gauge(f"kommunepuls_{service}_consumer_lag_records",
                 "Records of the source topic not yet processed, per partition.",
                 ["partition"], registry=registry)


def lag_after(app: faust.App, batch: list[Any]) -> dict[int, int]:
    """Records still waiting in each partition of a batch, after its newest record
    (highwater - offset - 1); partitions with no highwater known yet are left out."""
    newest: dict[Any, int] = {}
    for event in batch:
        tp = event.message.tp
        newest[tp] = max(newest.get(tp, -1), event.message.offset)
    lag: dict[int, int] = {}
    for tp, offset in newest.items():
        try:
            lag[tp.partition] = max(0, app.consumer.highwater(tp) - offset - 1)
        except (KeyError, AttributeError, TypeError):
            pass  # no highwater known yet for this partition (just assigned)
    return lag


def observe_lag(app: faust.App, gauge: Gauge, batch: list[Any]) -> None:
    """Consumer lag per partition from the newest record of a batch."""
    for partition, waiting in lag_after(app, batch).items():
        gauge.labels(str(partition)).set(waiting)


async def send_dead_letter(producer: AIOKafkaProducer, topic: str, value: bytes, *,
                           reason: str, service: str) -> None:
    """Park a record no retry can help (it cannot be decoded), with the reason, and go on:
    faust would acknowledge it anyway, so this is where it stays findable."""
    await producer.send_and_wait(topic, value, headers=[("reason", reason.encode()),
                                                        ("service", service.encode())])
