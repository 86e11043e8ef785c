import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from kommunepuls.config import Settings
from kommunepuls.kafka import consumer_options, ensure_topics, make_producer, topic_name


async def test_produce_consume_and_commit_against_the_real_broker(settings: Settings) -> None:
    created = await ensure_topics(settings)
    topic = topic_name(settings, settings.topic_case_events)
    assert topic in created
    assert await ensure_topics(settings) == []  # idempotent

    producer = make_producer(settings)
    await producer.start()
    try:
        for i in range(20):
            await producer.send(topic, f"v{i}".encode(), key=f"k{i % 5}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    group = f"{settings.topic_prefix}group"
    consumer = AIOKafkaConsumer(topic, group_id=group, **consumer_options(settings))
    await consumer.start()
    seen: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(seen) < 20:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    seen.extend(r.value for r in records)
        await consumer.commit()
        committed = {tp: await consumer.committed(tp) for tp in consumer.assignment()}
    finally:
        await consumer.stop()
    assert sorted(seen) == sorted(f"v{i}".encode() for i in range(20))
    assert sum(v or 0 for v in committed.values()) == 20

    # A new member of the same group starts after the committed offsets: nothing left.
    again = AIOKafkaConsumer(topic, group_id=group, **consumer_options(settings))
    await again.start()
    try:
        await asyncio.sleep(0)
        batch = await again.getmany(timeout_ms=2000)
        assert sum(len(v) for v in batch.values()) == 0
        assert all(isinstance(tp, TopicPartition) for tp in again.assignment())
    finally:
        await again.stop()
