"""The gateway on read models filled by the real pipeline: domain.md §4's worked example
(municipality 461, period 2019-06: 2 / 4 = 50.0 %) posted to ingest, carried through the
relay, Kafka, the cohorts and metrics workers into PostgreSQL, and read back through the API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import asyncpg
import pytest
from fastapi.testclient import TestClient

from kommunepuls.auth import Role
from kommunepuls.config import Settings
from services.gateway.app import create_app
from tests.integration.test_gateway_api import auth
from tests.integration.test_pipeline import (  # noqa: F401  (the pipeline fixture)
    envelope,
    pipeline,
    post,
    wait_for_agreement,
    worked_example,
)

VF = "fsm_virksomhedsforloeb"
ODENSE = auth(Role.municipality, "461", subject="odense-analyst")
NATIONAL = auth(Role.national)


def with_caseworkers(events: list[dict]) -> list[dict]:
    """The worked example plus caseworkers and case refs (which change no indicator)."""
    cprs = {e["cpr"] for e in events}
    by_letter = dict(zip("ABCDEF", sorted(cprs, key=lambda c: c[1]), strict=True))
    extra = []
    for letter, caseworker in (("A", "JF-1"), ("B", "JF-1"), ("D", "JF-2")):
        event = envelope(by_letter[letter], "caseworker_assigned", "2018-11-01",
                         {"caseworker_id": caseworker})
        event["case_ref"] = f"S-{letter}"
        extra.append(event)
    return events + extra


@pytest.fixture
def gateway(pipeline: tuple[Settings, TestClient]) -> Iterator[TestClient]:  # noqa: F811
    settings, _ = pipeline
    with TestClient(create_app(settings, cache_seconds=0)) as client:
        yield client


def wait_until_reflected(gateway: TestClient, head: int, budget_s: float = 30) -> dict:
    deadline = time.monotonic() + budget_s
    while True:
        body = gateway.get(f"/v1/indicators/{VF}/values", headers=NATIONAL,
                           params={"municipality": "461", "period": "2019-06"}).json()
        if body["events_through"] >= head or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


async def test_worked_example_through_the_pipeline_to_the_api(
        pipeline: tuple[Settings, TestClient], gateway: TestClient,  # noqa: F811
        db: asyncpg.Pool, jwt_secret: bytes) -> None:
    _, ingest = pipeline
    events = with_caseworkers(worked_example())
    assert post(ingest, jwt_secret, events)["accepted"] == len(events) == 16
    await wait_for_agreement(db)

    value = wait_until_reflected(gateway, 16)
    # A (tilbud into April) and F (fleksjob 30 June) of A, B, D, F; C exempt, E moved.
    assert (value["numerator"], value["denominator"], value["value_pct"], value["met"]) == \
        (2, 4, 50.0, True)
    assert value["events_through"] == 16 and value["computed_at"] is not None

    # 2 and 4 are both below 5: Odense's own staff see the value suppressed.
    own = gateway.get(f"/v1/indicators/{VF}/values", headers=ODENSE,
                      params={"municipality": "461", "period": "2019-06"}).json()
    assert own["suppressed"] is True and own["value"] is None

    ranking = gateway.get(f"/v1/indicators/{VF}/ranking", headers=NATIONAL,
                          params={"period": "2019-06"}).json()
    assert ranking["entries"][0]["municipality"] == "461" and ranking["entries"][0]["rank"] == 1
    assert ranking["national"]["value_pct"] == 50.0

    revisions = gateway.get(f"/v1/indicators/{VF}/revisions", headers=ODENSE,
                            params={"municipality": "461", "period": "2019-06"}).json()
    assert revisions["revisions"] and revisions["revisions"][-1]["suppressed"] is True
    history = gateway.get(f"/v1/indicators/{VF}/revisions", headers=NATIONAL,
                          params={"municipality": "461", "period": "2019-06"}).json()
    last = history["revisions"][-1]
    assert (last["numerator"], last["denominator"]) == (2, 4)

    # The work list: B and D are in the denominator, not the numerator. B's last activity
    # is the ordinary hours of March: 31 March, 91 days before 30 June. D's mentor tilbud
    # is not virksomhedsforløb mv.: never active.
    worklist = gateway.get("/v1/municipalities/461/worklist", headers=ODENSE,
                           params={"indicator": VF, "period": "2019-06"}).json()
    assert worklist["citizens"] == 2 and worklist["reference_day"] == "2019-06-30"
    assert [(g["caseworker_id"], [(c["case_ref"], c["last_activity_on"],
                                   c["days_since_last_activity"]) for c in g["citizens"]])
            for g in worklist["caseworkers"]] == [
        ("JF-1", [("S-B", "2019-03-31", 91)]), ("JF-2", [("S-D", None, None)])]
    assert all(len(c["citizen_id"]) >= 32 and not c["citizen_id"].isdigit()
               for g in worklist["caseworkers"] for c in g["citizens"])
    assert await db.fetchval("SELECT count(*) FROM worklist_access WHERE outcome = 'granted'"
                             " AND subject = 'odense-analyst'") == 1

    curve = gateway.get("/v1/indicators/fsm_virksomhedsforloeb_curve/values",
                        headers=NATIONAL, params={"municipality": "461", "group": 1}).json()
    # Six citizens visited on 1 November 2018; month 1 (November) has ended for all.
    assert curve["points"][0]["denominator"] == 6

    status = gateway.get("/v1/status", headers=NATIONAL).json()
    assert status["read_models"] == {"through": 16, "lag_events": 0, "lag_seconds": 0.0}
    assert {c["name"]: c["health"] for c in status["components"]}["metrics"] == "ok"

    metrics = gateway.get("/metrics", headers=auth(Role.ops)).text
    assert "kommunepuls_pipeline_lag_events 0.0" in metrics
    assert "kommunepuls_read_models_through_position 16.0" in metrics
