"""Kafka plumbing shared by the services: topic names, topic creation, producer options."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from kommunepuls.config import Settings


def topic_name(settings: Settings, base: str) -> str:
    return f"{settings.topic_prefix}{base}"


def platform_topics(settings: Settings) -> list[str]:
    return [topic_name(settings, t) for t in (
        settings.topic_case_events, settings.topic_cohort_facts, settings.topic_ingress,
        settings.topic_receipts, settings.topic_dead_letters)]


def topic_config(settings: Settings) -> dict[str, str]:
    # Tansu needs retention.bytes present too (KeyError otherwise, see measurements.md).
    return {"retention.ms": str(settings.kafka_retention_ms), "retention.bytes": "-1"}


async def ensure_topics(settings: Settings, names: list[str] | None = None) -> list[str]:
    """Create missing topics with the platform's partitions and retention; return the new ones."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [n for n in (names or platform_topics(settings)) if n not in existing]
        if wanted:
            try:
                await admin.create_topics([
                    NewTopic(n, settings.kafka_partitions, settings.kafka_replication_factor,
                             topic_configs=topic_config(settings)) for n in wanted])
            except TopicAlreadyExistsError:
                pass  # another process won the race; that is the state we wanted
        return wanted
    finally:
        await admin.close()


def producer_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 1024 * 1024,
        "max_request_size": 8 * 1024 * 1024,
        "compression_type": None,
    }
    if settings.kafka_idempotence:
        options["enable_idempotence"] = True
    return options


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(**{**producer_options(settings), **overrides})


def consumer_options(settings: Settings) -> dict[str, Any]:
    # Short group timeouts: with defaults a member needs ~30 s to join (measurements.md).
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1000,
        "rebalance_timeout_ms": 3000,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
    }
