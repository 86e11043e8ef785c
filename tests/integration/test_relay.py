"""The relay publishes the store to case-events as segments: complete, ordered, no CPR."""

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from kommunepuls import segments
from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.domain.records import StoredEvent
from kommunepuls.kafka import consumer_options, ensure_topics, make_producer, topic_name
from kommunepuls.storage.checkpoints import read_checkpoint
from kommunepuls.storage.event_store import append, read_after
from services.ingest.app import create_app
from services.ingest.relay import CHECKPOINT, Relay, publish
from tests.integration.test_event_store import event as new_event
from tests.integration.test_ingest import CPR_B, ev


async def consume_all(settings: Settings, expected_events: int,
                      budget_s: float = 30) -> list[tuple[int, list[StoredEvent], dict]]:
    """(partition, events, headers) of every record on case-events, in partition order."""
    consumer = AIOKafkaConsumer(topic_name(settings, settings.topic_case_events),
                                group_id=f"{settings.topic_prefix}check",
                                **consumer_options(settings))
    await consumer.start()
    records: list[tuple[int, list[StoredEvent], dict]] = []
    try:
        async with asyncio.timeout(budget_s):
            while sum(len(e) for _, e, _ in records) < expected_events:
                for tp, batch in (await consumer.getmany(timeout_ms=300)).items():
                    records.extend((tp.partition, segments.decode(r.value),
                                    {k: v.decode() for k, v in r.headers}) for r in batch)
    finally:
        await consumer.stop()
    return records


async def test_relay_publishes_every_event_once_in_per_partition_order(
        settings: Settings, db: asyncpg.Pool) -> None:
    settings = settings.model_copy(update={"segment_max_events": 7})
    await ensure_topics(settings)
    async with db.acquire() as conn:
        for n in range(10):
            await append(conn, [new_event(f"citizen-{(n * 5 + i) % 13}") for i in range(5)])
    relay = Relay(settings, db, CollectorRegistry())
    producer = make_producer(settings)
    await producer.start()
    try:
        assert await relay.publish_pending(producer) == 50
        assert await relay.publish_pending(producer) == 0
    finally:
        await producer.stop()
    assert await read_checkpoint(db, CHECKPOINT) == 50

    records = await consume_all(settings, 50)
    positions = [e.position for _, events, _ in records for e in events]
    assert sorted(positions) == list(range(1, 51))
    for partition, events, headers in records:
        assert 1 <= len(events) <= 7
        assert headers["first_position"] == str(events[0].position)
        assert headers["last_position"] == str(events[-1].position)
        assert headers["count"] == str(len(events))
        assert all(segments.partition_for(e.citizen_id, settings.kafka_partitions) == partition
                   for e in events)
    by_partition: dict[int, list[int]] = defaultdict(list)
    for partition, events, _ in records:
        by_partition[partition].extend(e.position for e in events)
    assert all(p == sorted(p) for p in by_partition.values())
    stored = {e.position: e for e in await read_after(db, 0)}
    assert all(stored[e.position] == e for _, events, _ in records for e in events)


async def test_a_relay_crash_before_its_checkpoint_only_redelivers_exact_copies(
        settings: Settings, db: asyncpg.Pool) -> None:
    await ensure_topics(settings)
    async with db.acquire() as conn:
        await append(conn, [new_event(f"c{i % 4}") for i in range(20)])
    producer = make_producer(settings)
    await producer.start()
    try:
        # The crash: segments reached the broker, the checkpoint did not move.
        await publish(producer, topic_name(settings, settings.topic_case_events),
                      (await read_after(db, 0))[:12], settings)
        relay = Relay(settings, db, CollectorRegistry())  # the restarted relay
        assert await relay.publish_pending(producer) == 20
    finally:
        await producer.stop()
    records = await consume_all(settings, 32)
    seen: dict[int, StoredEvent] = {}
    per_citizen: dict[str, list[int]] = defaultdict(list)
    for _, events, _ in records:
        for e in events:
            if e.position in seen:
                assert seen[e.position] == e  # a redelivery is an exact copy
                continue
            seen[e.position] = e
            per_citizen[e.citizen_id].append(e.position)
    assert sorted(seen) == list(range(1, 21))
    assert all(p == sorted(p) for p in per_citizen.values())


@pytest.fixture
def ingest_with_relay(settings: Settings, db: asyncpg.Pool) -> Iterator[TestClient]:
    asyncio.run(ensure_topics(settings))
    with TestClient(create_app(settings)) as client:
        yield client


def test_events_posted_to_ingest_reach_the_topic_without_cpr(
        ingest_with_relay: TestClient, settings: Settings, jwt_secret: bytes) -> None:
    token = issue_token(jwt_secret, subject="f", role=Role.fagsystem, municipalities=["851"])
    batch = [ev(), ev("visitation", cpr=CPR_B), ev("samtale", event_id=str(uuid4()))]
    body = ingest_with_relay.post("/v1/events", json=batch,
                                  headers={"Authorization": f"Bearer {token}"}).json()
    assert body["accepted"] == 3
    deadline = time.monotonic() + 20
    while "kommunepuls_relay_events_published_total 3.0" not in (
            metrics := ingest_with_relay.get("/metrics").text):
        assert time.monotonic() < deadline, metrics[-2000:]
        time.sleep(0.1)
    records = asyncio.run(consume_all(settings, 3))
    raw = repr(records)
    assert "0101901234" not in raw and CPR_B not in raw
    assert sorted(e.position for _, events, _ in records for e in events) == [1, 2, 3]


async def test_replay_rebuilds_a_topic_from_any_position(settings: Settings,
                                                         db: asyncpg.Pool) -> None:
    from kommunepuls.replay import replay_store

    async with db.acquire() as conn:
        await append(conn, [new_event(f"c{i % 3}") for i in range(9)])
    target = f"{settings.topic_prefix}rebuilt"
    assert await replay_store(settings, 4, target) == 5
    rebuilt = settings.model_copy(update={"topic_case_events": "rebuilt"})
    records = await consume_all(rebuilt, 5)
    assert sorted(e.position for _, events, _ in records for e in events) == [5, 6, 7, 8, 9]
