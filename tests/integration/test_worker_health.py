"""A worker whose agent crashed says so on /healthz, counts it and exits non-zero, leaving
the record it crashed on uncommitted, so that the restarted worker reads it again (issue 7).

faust leaves a crashed agent dead in a live process; the watchdog (kommunepuls/watchdog.py)
turns that into a 503 and an exit. The crash is injected by tests/integration/crashing_worker.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from kommunepuls import facts
from kommunepuls.config import Settings
from kommunepuls.embedded.process import die_with_parent
from kommunepuls.kafka import consumer_options, ensure_topics, make_producer, topic_name
from kommunepuls.watchdog import CRASH_EXIT_CODE
from tests.integration.crashing_worker import CRASH_THROUGH, EXIT_AFTER_S, FAULT
from tests.integration.pipeline import stop, wait_healthy, worker_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
SOUND_THROUGH = 7  # a record before the one that crashes, processed normally


def start_crashing_worker(settings: Settings, where: str, log: Path
                          ) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMMUNEPULS_")}
    env.update(settings.to_env())
    return subprocess.Popen([sys.executable, "-m", "tests.integration.crashing_worker", where],
                            env=env, cwd=REPO_ROOT, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


async def send_facts_record(settings: Settings, through: int) -> None:
    """An empty facts record carrying `through`, as cohorts sends one: once it is
    processed, metrics' checkpoint of partition 0 is `through`."""
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_name(settings, settings.topic_cohort_facts), facts.encode([]), key=b"0",
            partition=0, headers=[(facts.HEADER_THROUGH, str(through).encode())])
    finally:
        await producer.stop()


async def committed_offset(settings: Settings) -> int | None:
    """The metrics group's committed offset of cohort-facts[0] (read without joining)."""
    consumer = AIOKafkaConsumer(group_id=f"{settings.topic_prefix}kommunepuls-metrics",
                                **consumer_options(settings))
    await consumer.start()
    try:
        return await consumer.committed(
            TopicPartition(topic_name(settings, settings.topic_cohort_facts), 0))
    finally:
        await consumer.stop()


async def checkpoint(db: asyncpg.Pool) -> int:
    return await db.fetchval("SELECT position FROM checkpoints WHERE name = 'metrics:p0'") or 0


async def until(what: str, check: Callable[[], Awaitable[bool]], budget_s: float) -> None:
    deadline = time.monotonic() + budget_s
    while not await check():
        assert time.monotonic() < deadline, f"not within {budget_s} s: {what}"
        await asyncio.sleep(0.1)


def crashes_counted(exposition: str) -> dict[tuple[str, str], float]:
    return {(s.labels["service"], s.labels["agent"]): s.value
            for family in text_string_to_metric_families(exposition)
            if family.name == "kommunepuls_agent_crashes"
            for s in family.samples if s.name.endswith("_total")}


async def test_a_crashed_agent_turns_healthz_503_and_exits_with_its_record_uncommitted(
        settings: Settings, db: asyncpg.Pool, tmp_path: Path) -> None:
    settings = worker_settings(settings)
    await ensure_topics(settings)
    health = f"http://127.0.0.1:{settings.metrics_web_port}/healthz"
    log = tmp_path / "metrics.log"
    worker = start_crashing_worker(settings, "step", log)
    try:
        await asyncio.to_thread(wait_healthy, settings.metrics_web_port, worker, log)
        # A sound record first: processed, flushed and committed (offset 0 done, next 1).
        await send_facts_record(settings, SOUND_THROUGH)

        async def committed_past_the_sound_record() -> bool:
            return await committed_offset(settings) == 1

        await until("sound record committed", committed_past_the_sound_record, 10)
        assert await checkpoint(db) == SOUND_THROUGH

        await send_facts_record(settings, CRASH_THROUGH)
        async with httpx.AsyncClient(timeout=1) as client:

            async def unhealthy() -> bool:
                return worker.poll() is not None or (await client.get(health)).status_code != 200

            await until("/healthz not 200", unhealthy, 10)
            answer = await client.get(health)
            exposition = (await client.get(health.replace("healthz", "metrics"))).text
        assert answer.status_code == 503
        body = answer.json()
        assert {k: body[k] for k in ("status", "service", "agent", "reason")} == {
            "status": "crashed", "service": "metrics", "agent": "count_indicator_members",
            "reason": f"InjectedFault: {FAULT}"}
        assert crashes_counted(exposition) == {("metrics", "count_indicator_members"): 1.0}

        code = await asyncio.to_thread(worker.wait, EXIT_AFTER_S + 5)
        assert code == CRASH_EXIT_CODE
    finally:
        stop(worker, kill=True)
    assert "agent crashed; the worker exits so that it is restarted" in log.read_text()
    # The crashed record (offset 1) is neither counted nor committed: a restart reads it.
    assert await checkpoint(db) == SOUND_THROUGH
    assert await committed_offset(settings) == 1


async def test_a_crash_outside_the_guarded_step_still_ends_the_worker(
        settings: Settings, db: asyncpg.Pool, tmp_path: Path) -> None:
    settings = worker_settings(settings)
    await ensure_topics(settings)
    log = tmp_path / "metrics.log"
    worker = start_crashing_worker(settings, "after-step", log)
    try:
        await asyncio.to_thread(wait_healthy, settings.metrics_web_port, worker, log)
        await send_facts_record(settings, SOUND_THROUGH)
        # faust's supervisor sees this crash: no restart of the dead actor, an exit at once.
        assert await asyncio.to_thread(worker.wait, 10) == CRASH_EXIT_CODE
    finally:
        stop(worker, kill=True)
    text = log.read_text()
    assert "agent crashed; the worker exits so that it is restarted" in text
    assert "count_indicator_members" in text and "InjectedFault" in text
    assert await checkpoint(db) == SOUND_THROUGH  # the step itself had succeeded
