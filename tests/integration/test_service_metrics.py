"""What every service exports on /metrics passes `promtool check metrics` (Prometheus's own
linter: counters end in `_total`, base units, help texts), with samples in the families that
carry labels, and holds every family of the inventory the dashboards are checked against.

ingest and gateway: the real apps (FastAPI TestClient, real PostgreSQL; the ingest relay
publishes to the real broker). cohorts and metrics: their workers' registries, built by
each service's composition root and filled through the workers' metric classes with the
label values the agents use (a running faust worker serves exactly generate_latest of
that registry, kommunepuls/streaming.py).

promtool comes from Debian's `prometheus` package (`apt-get install -y prometheus`).
"""

from __future__ import annotations

import re
import subprocess
import time
from copy import deepcopy
from uuid import uuid4

import asyncpg
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.domain.examples import EXAMPLES
from tests.conftest import TEST_JWT_SECRET
from tests.unit.test_grafana_promql import (
    GATEWAY_INDICATOR_METRICS,
    family_names,
    service_registries,
)

pytestmark = pytest.mark.integration


def check_metrics(promtool: str, exposition: bytes) -> None:
    result = subprocess.run([promtool, "check", "metrics"], input=exposition,
                            capture_output=True, timeout=30, check=False)
    problems = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, f"promtool check metrics:\n{problems}"


def types_in(exposition: str) -> dict[str, str]:
    """Metric name -> type, from the `# TYPE` lines (a counter's name has its `_total`)."""
    return {line.split()[2]: line.split()[3] for line in exposition.splitlines()
            if line.startswith("# TYPE ")}


def bearer(role: Role, *municipalities: str) -> dict[str, str]:
    token = issue_token(TEST_JWT_SECRET.encode(), subject="metrics-test", role=role,
                        municipalities=list(municipalities))
    return {"Authorization": f"Bearer {token}"}


def event(kind: str) -> dict[str, object]:
    body = deepcopy(EXAMPLES[kind])
    body["event_id"] = str(uuid4())
    return body


def test_ingest_metrics_pass_promtool(settings: Settings, db: asyncpg.Pool,
                                      promtool: str) -> None:
    from services.ingest.app import create_app

    registry = CollectorRegistry()
    with TestClient(create_app(settings, registry)) as client:
        headers = bearer(Role.fagsystem, "851")
        good = event("visitation")
        bad = {**event("tilbud_started"), "municipality": "999"}
        answer = client.post("/v1/events", json=[good, bad, good], headers=headers)
        assert answer.status_code < 500, answer.text
        client.get("/nowhere")
        # The relay (started with the app) publishes the stored event to the broker.
        deadline = time.monotonic() + 10
        while b"kommunepuls_relay_events_published_total 1.0" not in generate_latest(registry):
            assert time.monotonic() < deadline, "the relay did not publish"
            time.sleep(0.1)
        exposition = client.get("/metrics").content
    check_metrics(promtool, exposition)
    text = exposition.decode()
    assert 'kommunepuls_events_ingested_total{status="accepted",type="visitation"} 1.0' in text
    assert 'status="rejected"' in text and 'status="duplicate"' in text
    assert "kommunepuls_ingest_store_append_duration_seconds_count 1.0" in text
    assert re.search(r'kommunepuls_http_request_duration_seconds_count\{method="POST",'
                     r'route="[^"]+",service="ingest",status="200"\} 1\.0', text)
    assert "kommunepuls_relay_lag_events 0.0" in text
    # The inventory the dashboards are checked against is what the running service exports.
    (offline,) = [r for name, r in service_registries(settings) if name == "ingest"]
    assert family_names(offline) <= set(types_in(text))


def test_http_metrics_label_api_routes_by_their_template(settings: Settings,
                                                         db: asyncpg.Pool) -> None:
    from services.ingest.app import create_app

    with TestClient(create_app(settings, relay=False)) as client:
        client.post("/v1/events", json=[], headers=bearer(Role.fagsystem, "851"))
        text = client.get("/metrics").text
    assert 'route="/v1/events"' in text


async def fill_indicator_counts(db: asyncpg.Pool) -> None:
    rows = [("fsm_virksomhedsforloeb", "851", "2019-06", 1, 0, 30, 60),
            ("fsm_virksomhedsforloeb", "851", "2019-06", 1, 1, 13, 40),  # 43/100 = 0.43, met
            ("fsm_virksomhedsforloeb", "101", "2019-06", 1, 0, 150, 500),  # 0.30, not met
            ("fsm_afklaret", "851", "2019-06", 2, 0, 20, 25)]
    await db.executemany(
        """INSERT INTO indicator_counts VALUES ($1, $2, $3, $4, $5, $6, $7, 10,
               '2019-07-15T08:00:00Z')""", rows)
    await db.execute("UPDATE event_store_head SET position = 10")


async def test_gateway_metrics_pass_promtool(settings: Settings, db: asyncpg.Pool,
                                             promtool: str) -> None:
    from services.gateway.app import create_app

    await fill_indicator_counts(db)
    with TestClient(create_app(settings, cache_seconds=0)) as client:
        client.get("/v1/status", headers=bearer(Role.ops))
        exposition = client.get("/metrics", headers=bearer(Role.ops)).content
    check_metrics(promtool, exposition)
    text = exposition.decode()
    assert GATEWAY_INDICATOR_METRICS <= set(types_in(text))
    assert ('kommunepuls_indicator_value{group="1",indicator="fsm_virksomhedsforloeb",'
            'municipality="851"} 0.43') in text
    assert ('kommunepuls_indicator_target_met{group="1",indicator="fsm_virksomhedsforloeb",'
            'municipality="101"} 0.0') in text
    assert 'municipality="all"' in text
    assert "kommunepuls_pipeline_lag_events" in text


def test_worker_metrics_pass_promtool(settings: Settings, promtool: str) -> None:
    from services.cohorts.app import create_app as create_cohorts
    from services.metrics.app import create_app as create_metrics

    for create, fill in ((create_cohorts, fill_cohorts), (create_metrics, fill_metrics)):
        served = CollectorRegistry()
        create(settings, served)  # the worker's registry, as its /metrics page serves it
        check_metrics(promtool, generate_latest(served))
        counted = CollectorRegistry()
        fill(counted)  # the same families after the agents counted
        assert family_names(counted) == family_names(served)
        check_metrics(promtool, generate_latest(counted))



def fill_cohorts(registry: CollectorRegistry) -> None:
    from services.cohorts.agents import CohortsMetrics

    metrics = CohortsMetrics(registry)
    metrics.events.inc(500)
    for reason in ("events", "new_day"):  # the reasons services/cohorts/agents.py sends
        metrics.facts.labels(reason).inc(3)
    metrics.dead.labels("cohorts").inc()
    metrics.batch.observe(0.2)
    crashed(registry, "cohorts", "track_citizen_state")


def fill_metrics(registry: CollectorRegistry) -> None:
    from services.metrics.agents import MetricsMetrics

    metrics = MetricsMetrics(registry)
    for outcome in ("applied", "stale"):
        metrics.facts.labels(outcome).inc(2)
    metrics.dead.labels("metrics").inc()
    metrics.flush.observe(0.03)
    metrics.citizens.labels("0").set(120)
    metrics.through.labels("0").set(4711)
    crashed(registry, "metrics", "count_indicator_members")


def crashed(registry: CollectorRegistry, service: str, agent: str) -> None:
    from kommunepuls.watchdog import AgentWatchdog  # registered by create_faust_app

    AgentWatchdog(service, registry).crashes.labels(service, agent).inc()
