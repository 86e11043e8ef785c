"""Metrics: counts citizens' cells into indicator read models in PostgreSQL."""

from __future__ import annotations

import faust
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.kafka import topic_name
from kommunepuls.streaming import create_faust_app
from services.metrics.agents import ArrivalSchema, MetricsWorker, register_agents


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> faust.App:
    registry = registry or CollectorRegistry()
    app = create_faust_app(settings, name="metrics", web_port=settings.metrics_web_port,
                           registry=registry)
    worker = MetricsWorker(settings, registry, topic_name(settings, settings.topic_dead_letters))
    source = app.topic(topic_name(settings, settings.topic_cohort_facts),
                       schema=ArrivalSchema(worker.note_arrival))
    register_agents(app, source, worker)
    return app
