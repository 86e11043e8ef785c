"""The whole pipeline: ingest -> store -> relay -> case-events -> cohorts -> cohort-facts ->
metrics -> read models, compared with a batch recompute from the store."""

import asyncio
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CONTENT_TYPE_LATEST

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.kafka import ensure_topics
from kommunepuls.recompute import compare, live_counts, recompute_counts
from services.ingest.app import create_app
from tests.integration.pipeline import stream_workers, worker_settings
from tests.integration.test_service_metrics import check_metrics

TODAY = date(2019, 7, 15)


def envelope(cpr: str, kind: str, occurred: str, data: dict, municipality: str = "461") -> dict:
    return {"event_id": str(uuid4()), "type": kind, "schema_version": 1,
            "municipality": municipality, "cpr": cpr, "occurred_at": occurred,
            "source": "test", "data": data}


def worked_example() -> list[dict]:
    """domain.md §4's worked example: municipality 461, period 2019-06 -> 2 / 4 = 50.0 %."""
    visit = {"programme": "flere_skal_med", "target_group": "kontanthjaelp_aktivitetsparat",
             "group": 1}
    cprs = {c: f"0{i + 1}0185{1000 + i}" for i, c in enumerate("ABCDEF")}
    events = [envelope(cpr, "visitation", "2018-11-01", visit) for cpr in cprs.values()]
    events += [
        envelope(cprs["A"], "tilbud_started", "2019-03-01",
                 {"tilbud_id": "T-A", "kind": "virksomhedspraktik"}),
        envelope(cprs["A"], "tilbud_ended", "2019-04-01", {"tilbud_id": "T-A"}),
        envelope(cprs["B"], "ordinary_hours", "2019-04-10", {"month": "2019-03", "hours": 12}),
        envelope(cprs["C"], "exemption_started", "2019-06-20", {"reason": "sygdom"}),
        envelope(cprs["D"], "tilbud_started", "2019-05-01", {"tilbud_id": "T-D",
                                                             "kind": "mentor"}),
        envelope(cprs["E"], "relocated", "2019-06-30", {"to_municipality": "751"}),
        envelope(cprs["F"], "tilbud_started", "2019-06-30", {"tilbud_id": "T-F",
                                                             "kind": "fleksjob"}),
    ]
    return events


@pytest.fixture
def pipeline(settings: Settings, db: asyncpg.Pool, tmp_path: Path
             ) -> Iterator[tuple[Settings, TestClient]]:
    settings = worker_settings(settings.model_copy(update={"today": TODAY}))
    asyncio.run(ensure_topics(settings))
    with stream_workers(settings, tmp_path / "logs"), TestClient(create_app(settings)) as ingest:
        yield settings, ingest


async def wait_for_agreement(db: asyncpg.Pool, budget_s: float = 60,
                             today: date | None = TODAY) -> int:
    deadline = time.monotonic() + budget_s
    while True:
        batch, _ = await recompute_counts(db, today or TODAY)
        differences = compare(await live_counts(db), batch)
        if not differences and batch:
            return len(batch)
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(differences)} differences, e.g. {differences[:5]}")
        await asyncio.sleep(0.5)


def post(ingest: TestClient, jwt_secret: bytes, events: list[dict]) -> dict:
    token = issue_token(jwt_secret, subject="f", role=Role.fagsystem,
                        municipalities=sorted({e["municipality"] for e in events}))
    response = ingest.post("/v1/events", json=events, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_worked_example_flows_through_the_pipeline_to_50_percent(
        pipeline: tuple[Settings, TestClient], db: asyncpg.Pool, jwt_secret: bytes,
        promtool: str) -> None:
    _, ingest = pipeline
    assert post(ingest, jwt_secret, worked_example())["accepted"] == 13
    await wait_for_agreement(db)
    row = await db.fetchrow(
        """SELECT sum(numerator) AS n, sum(denominator) AS d FROM indicator_counts
           WHERE indicator = 'fsm_virksomhedsforloeb' AND municipality = '461'
             AND period = '2019-06'""")
    assert (row["n"], row["d"]) == (2, 4)
    # The workers' own /metrics pages serve what they counted, in a format Prometheus takes.
    settings, _ = pipeline
    pages = {}
    async with httpx.AsyncClient(timeout=5) as client:
        for name, port in (("cohorts", settings.cohorts_web_port),
                           ("metrics", settings.metrics_web_port)):
            page = await client.get(f"http://127.0.0.1:{port}/metrics")
            assert page.status_code == 200, page.text
            assert page.headers["content-type"] == CONTENT_TYPE_LATEST
            check_metrics(promtool, page.content)
            pages[name] = page.text
    assert "kommunepuls_cohorts_events_processed_total 13.0" in pages["cohorts"]
    assert "kommunepuls_metrics_facts_total" in pages["metrics"]


async def test_a_late_correction_revises_march_and_as_of_still_answers_the_old_value(
        settings: Settings, db: asyncpg.Pool, tmp_path: Path, jwt_secret: bytes) -> None:
    """Five group-1 citizens of 851; two had a virksomhedspraktik in March 2018 -> 2 / 5.
    In late April the case system retracts one of them (it really started in May, outside
    March's window) -> 1 / 5. The March value as known before the correction stays 2 / 5."""
    settings = worker_settings(settings.model_copy(update={"today": date(2018, 4, 30)}))
    await ensure_topics(settings)
    visit = {"programme": "flere_skal_med", "target_group": "kontanthjaelp_aktivitetsparat",
             "group": 1}
    cprs = [f"1{i}0385{2000 + i}" for i in range(5)]
    first = [envelope(c, "visitation", "2018-01-01", visit, "851") for c in cprs]
    march = [envelope(c, "tilbud_started", "2018-03-05",
                      {"tilbud_id": f"T-{i}", "kind": "virksomhedspraktik"}, "851")
             for i, c in enumerate(cprs[:2])]
    query = """SELECT numerator, denominator, recorded_at FROM indicator_revisions
               WHERE indicator = 'fsm_virksomhedsforloeb' AND municipality = '851'
                 AND period = '2018-03' AND recorded_at <= $1 ORDER BY id DESC LIMIT 1"""
    with stream_workers(settings, tmp_path / "logs"), TestClient(create_app(settings)) as ingest:
        post(ingest, jwt_secret, first + march)
        await wait_for_agreement(db, today=settings.today)
        known_then = await db.fetchval("SELECT clock_timestamp()")
        assert tuple((await db.fetchrow(query, known_then))[:2]) == (2, 5)
        correction = [
            envelope(cprs[1], "event_retracted", "2018-04-27",
                     {"event_id": march[1]["event_id"], "reason": "wrong_date"}, "851"),
            envelope(cprs[1], "tilbud_started", "2018-05-02",
                     {"tilbud_id": "T-1b", "kind": "virksomhedspraktik"}, "851"),
        ]
        post(ingest, jwt_secret, correction)
        await wait_for_agreement(db, today=settings.today)
    now = await db.fetchval("SELECT clock_timestamp()")
    assert tuple((await db.fetchrow(query, now))[:2]) == (1, 5)
    assert tuple((await db.fetchrow(query, known_then))[:2]) == (2, 5)
