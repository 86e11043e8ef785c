"""A record no retry can help goes to the dead-letter topic with its reason, is counted,
and the worker goes on with the next record."""

import asyncio

import asyncpg
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.kafka import consumer_options, ensure_topics, topic_name
from services.cohorts.agents import CohortsWorker
from services.metrics.agents import MetricsWorker


async def dead_letters(settings: Settings, count: int) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(topic_name(settings, settings.topic_dead_letters),
                                group_id=f"{settings.topic_prefix}dlq",
                                **consumer_options(settings))
    await consumer.start()
    found: list[tuple[bytes, dict[str, bytes]]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    found.extend((r.value, dict(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return found


async def test_undecodable_records_are_dead_lettered_with_their_reason(
        settings: Settings, db: asyncpg.Pool) -> None:
    await ensure_topics(settings)
    registry = CollectorRegistry()
    cohorts = CohortsWorker(settings, registry, topic_name(settings, settings.topic_cohort_facts),
                            topic_name(settings, settings.topic_dead_letters))
    metrics = MetricsWorker(settings, CollectorRegistry(),
                            topic_name(settings, settings.topic_dead_letters))
    try:
        await cohorts.process([(0, b"not a segment")])
        await metrics.process([(1, b"[1, 2", {})])
    finally:
        await cohorts.io.close()
        await metrics.io.close()
    parked = await dead_letters(settings, 2)
    by_service = {h["service"]: (v, h["reason"].decode()) for v, h in parked}
    assert by_service[b"cohorts"][0] == b"not a segment"
    assert by_service[b"cohorts"][1].startswith("undecodable segment")
    assert by_service[b"metrics"][1].startswith("undecodable facts")
    assert registry.get_sample_value("kommunepuls_dead_letters_total",
                                     {"service": "cohorts"}) == 1
