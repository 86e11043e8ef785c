"""Kill every component with SIGKILL in the middle of a simulated stream, restart it, and
require that nothing is lost or counted twice (issue 7).

One stream of > 20,000 events; in turn the ingest process (and the relay inside it), the
cohorts worker, the metrics worker, the broker and PostgreSQL are killed and restarted.
The client retries what was not acknowledged with the same event_ids. At the end the
store must hold exactly the accepted events and `verify` must find zero differences.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from kommunepuls.audit import audit
from kommunepuls.config import Settings
from kommunepuls.embedded.broker import TansuBroker, free_port
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.embedded.process import spawn_service
from kommunepuls.kafka import consumer_options, ensure_topics, platform_topics
from kommunepuls.recompute import compare, live_counts, recompute_counts
from kommunepuls.simulator.feed import FeedStats, run_simulation
from kommunepuls.simulator.generator import SimConfig, generate
from kommunepuls.storage.db import connect, create_pool
from kommunepuls.storage.migrate import migrate
from tests.conftest import make_settings
from tests.integration.pipeline import stop, wait_healthy

TODAY = date(2019, 6, 30)
CONFIG = SimConfig(seed=21, citizens=820, end=TODAY, late_share=0.05, duplicate_share=0.02,
                   retraction_share=0.01, invalid_share=0.002)
# Store positions at which each component is killed, in this order.
KILLS = (("ingest", 3_000), ("cohorts", 7_000), ("metrics", 11_000), ("broker", 15_000),
         ("postgres", 19_000))


class Platform:
    """A platform of its own (PostgreSQL, broker, ingest, workers) that a test may break."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True)
        self.postgres = EmbeddedPostgres(root / "pg", delete_on_stop=True)
        self.broker = TansuBroker(free_port(), log_file=self.logs / "broker.log")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.settings: Settings | None = None

    def start_servers(self) -> Settings:
        self.postgres.start()
        self.broker.start()
        self.settings = make_settings(
            self.root, database_url=self.postgres.url(), database_schema="faults",
            kafka_bootstrap_servers=self.broker.bootstrap_servers, today=TODAY,
            ingest_port=free_port(), cohorts_web_port=free_port(), metrics_web_port=free_port(),
            log_level="INFO")
        return self.settings

    async def up(self, *services: str) -> Settings:
        """The servers, the schema and the topics, then these services, healthy."""
        settings = self.start_servers()
        await self.postgres.ensure_database()
        conn = await connect(settings)
        await migrate(conn, settings.database_schema)
        await conn.close()
        await ensure_topics(settings)
        for name in services:
            await asyncio.to_thread(self.spawn, name)
        return settings

    def spawn(self, name: str) -> None:
        assert self.settings is not None
        self.processes[name] = spawn_service(self.settings, name, self.logs / f"{name}.log")
        port = {"ingest": self.settings.ingest_port, "cohorts": self.settings.cohorts_web_port,
                "metrics": self.settings.metrics_web_port}[name]
        wait_healthy(port, self.processes[name], self.logs / f"{name}.log", budget_s=60)

    def kill_and_restart(self, name: str) -> None:
        if name in self.processes:
            stop(self.processes[name], kill=True)
            time.sleep(0.5)
            self.spawn(name)
        elif name == "broker":
            self.broker.stop(kill=True)
            time.sleep(0.5)
            self.broker.start()
            # The documented recovery: topics again, relay back to what was counted.
            assert self.settings is not None
            env = {k: v for k, v in os.environ.items() if not k.startswith("KOMMUNEPULS_")}
            env.update(self.settings.to_env())
            subprocess.run([sys.executable, "-m", "kommunepuls", "recover"], env=env,
                           check=True, capture_output=True, timeout=60)
        elif name == "postgres":
            os.kill(self.postgres.pid, 9)
            time.sleep(2.0)  # backends notice the dead postmaster and exit
            self.postgres.ensure_running()  # same data directory: crash recovery, then serve

    def close(self) -> None:
        for process in self.processes.values():
            stop(process)
        self.broker.stop()
        self.postgres.stop()


@pytest.fixture
def platform() -> Iterator[Platform]:
    root = Path(tempfile.mkdtemp(prefix="kommunepuls-faults-"))
    fixture = Platform(root)
    try:
        yield fixture
    finally:
        fixture.close()
        shutil.rmtree(root, ignore_errors=True)


async def checkpoints(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT name, position FROM checkpoints")
    return {r["name"]: r["position"] for r in rows}


def service_log_trouble(platform: Platform) -> str:
    """The warnings and errors the services logged, for a failure message: the logs live in
    a temporary directory that is gone when the test ends."""
    lines = []
    for log in sorted(platform.logs.glob("*.log")):
        trouble = [line for line in log.read_text(errors="replace").splitlines()
                   if any(w in line.lower() for w in ("warn", "error", "traceback", "dead"))]
        lines += [f"{log.name}: {line[:300]}" for line in trouble[-15:]]
    return "\n".join(lines)


async def head(settings: Settings) -> int:
    try:
        conn = await connect(settings)
    except (OSError, asyncpg.PostgresError):
        return -1
    try:
        return int(await conn.fetchval("SELECT position FROM event_store_head"))
    finally:
        await conn.close()


async def killer(platform: Platform, settings: Settings, done: asyncio.Event,
                 killed: list[str]) -> None:
    for name, at in KILLS:
        while await head(settings) < at and not done.is_set():  # noqa: ASYNC110 - polls the store
            await asyncio.sleep(0.2)
        await asyncio.to_thread(platform.kill_and_restart, name)
        killed.append(name)


async def test_nothing_is_lost_or_double_counted_when_any_component_is_killed(
        platform: Platform) -> None:
    settings = await platform.up("ingest", "cohorts", "metrics")
    emissions = list(generate(CONFIG))
    valid_ids = {e.envelope["event_id"] for e in emissions if e.valid}
    assert len(valid_ids) > 20_000

    done = asyncio.Event()
    killed: list[str] = []
    kills = asyncio.create_task(killer(platform, settings, done, killed))
    stats = FeedStats()
    await run_simulation(settings, CONFIG, ingest_url=f"http://127.0.0.1:{settings.ingest_port}",
                         speed=0, drive_clock=False, stats=stats)
    await asyncio.wait_for(kills, 120)
    done.set()
    assert killed == [name for name, _ in KILLS]

    pool = await create_pool(settings, max_size=2)
    try:
        stored = {str(r["event_id"]) for r in await pool.fetch("SELECT event_id FROM events")}
        assert stored == valid_ids  # exactly the accepted events, each once
        assert await pool.fetchval("SELECT max(position) = count(*) FROM events")
        await live_agrees_with_batch(platform, pool, budget_s=180)
    finally:
        await pool.close()
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"http://127.0.0.1:{settings.ingest_port}/metrics")).text
    assert "kommunepuls_events_ingested_total" in metrics
    await assert_no_cpr_anywhere(platform, settings, {e.envelope["cpr"] for e in emissions
                                                      if isinstance(e.envelope.get("cpr"), str)})


async def live_agrees_with_batch(platform: Platform, pool: asyncpg.Pool,
                                 budget_s: float) -> None:
    """Until the read models equal a batch recompute from the store, which counts something."""
    deadline = time.monotonic() + budget_s
    while True:
        batch, _ = await recompute_counts(pool, TODAY)
        differences = compare(await live_counts(pool), batch)
        if not differences:
            assert batch  # not a comparison of two voids
            return
        # A worker whose agent crashed exits (kommunepuls/watchdog.py); nothing here
        # restarts it, so say so at once rather than after the deadline.
        exited = {name: p.returncode for name, p in platform.processes.items()
                  if p.poll() is not None}
        assert not exited, f"exited: {exited}\n{service_log_trouble(platform)}"
        assert time.monotonic() < deadline, (
            f"{len(differences)} differences, e.g. {differences[:3]}\n"
            f"checkpoints: {await checkpoints(pool)}\n{service_log_trouble(platform)}")
        await asyncio.sleep(2)


async def cohorts_settled(settings: Settings, events: int, budget_s: float = 60) -> None:
    """Until the cohorts worker has folded `events` events and its batches have stopped
    (its facts are then on cohort-facts)."""
    url = f"http://127.0.0.1:{settings.cohorts_web_port}/metrics"
    deadline = time.monotonic() + budget_s
    last: tuple[float, float] | None = None
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            text = (await client.get(url)).text
            now = (sample(text, "kommunepuls_cohorts_events_processed_total"),
                   sample(text, "kommunepuls_cohorts_batch_duration_seconds_count"))
            if now[0] >= events and now == last:
                return
            last = now
            await asyncio.sleep(1.5)
    raise AssertionError(f"cohorts did not settle in {budget_s}s: {last}")


def sample(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(name + " ") or line.startswith(name + "{"))


async def test_facts_the_broker_lost_before_they_were_counted_are_sent_again(
        platform: Platform) -> None:
    """Cohorts has evaluated every citizen and sent their facts, but the broker loses them
    before the metrics worker counted any. After `recover` the relay publishes the events
    again, and cohorts must evaluate those citizens again, not skip them as already done."""
    settings = await platform.up("ingest", "cohorts")
    config = SimConfig(seed=5, citizens=120, end=TODAY)
    await run_simulation(settings, config, ingest_url=f"http://127.0.0.1:{settings.ingest_port}",
                         speed=0, drive_clock=False)
    pool = await create_pool(settings, max_size=2)
    try:
        stored = await pool.fetchval("SELECT count(*) FROM events")
        await cohorts_settled(settings, stored)
        await asyncio.to_thread(platform.kill_and_restart, "broker")
        await asyncio.to_thread(platform.spawn, "metrics")
        await live_agrees_with_batch(platform, pool, budget_s=60)
        # The audit agrees on read models the live stream wrote: every citizen settled (a
        # last flush may still bring facts that change no count, hence the retries).
        deadline = time.monotonic() + 30
        while True:
            checked = await audit(pool, settings.kafka_partitions, settle_s=60)
            if checked.settled == checked.citizens or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        assert checked.ok and checked.settled == checked.citizens == config.citizens
    finally:
        await pool.close()


TEN_DIGITS = re.compile(rb"(?<!\d)\d{6}-?\d{4}(?!\d)")


def cprs_in(raw: bytes, cprs: set[str]) -> set[str]:
    return {m.replace(b"-", b"").decode() for m in TEN_DIGITS.findall(raw)} & cprs


async def assert_no_cpr_anywhere(platform: Platform, settings: Settings, cprs: set[str]) -> None:
    """After the kills: not one CPR in the database, the services' logs or any topic."""
    assert len(cprs) > 500
    sample = next(iter(cprs))
    assert cprs_in(f"x{sample[:6]}-{sample[6:]}y".encode(), cprs) == {sample}  # the scan works
    pool = await create_pool(settings, max_size=1)
    try:
        tables = [r["tablename"] for r in await pool.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1", settings.database_schema)]
        for table in tables:
            dump = "\n".join(r["t"] for r in await pool.fetch(
                f'SELECT t::text AS t FROM "{table}" t'))
            assert not cprs_in(dump.encode(), cprs), f"CPR in table {table}"
    finally:
        await pool.close()
    for log in platform.logs.glob("*.log"):
        assert not cprs_in(log.read_bytes(), cprs), f"CPR in {log.name}"
    consumer = AIOKafkaConsumer(*platform_topics(settings), group_id="cpr-scan",
                                **consumer_options(settings))
    await consumer.start()
    scanned = 0
    try:
        while batch := await consumer.getmany(timeout_ms=2000, max_records=5000):
            for records in batch.values():
                for record in records:
                    raw = (record.value or b"") + b" ".join(v for _, v in record.headers or ())
                    assert not cprs_in(raw, cprs), f"CPR on topic {record.topic}"
                    scanned += 1
    finally:
        await consumer.stop()
    assert scanned > 0
