"""Rate limits, hostile bodies and odd input on the ingest API: each a clear 4xx as problem
JSON, never a 500, and the good events of a mixed batch still stored."""

from collections.abc import Iterator

import asyncpg
import orjson
import pytest
from fastapi.testclient import TestClient

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from services.ingest.app import create_app
from tests.integration.test_ingest import auth, ev


@pytest.fixture
def ingest(settings: Settings, db: asyncpg.Pool) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"ingest_rate_limit_per_s": 0.5,
                                          "ingest_rate_limit_burst": 2})
    with TestClient(create_app(limited, relay=False)) as client:
        yield client


def test_a_token_over_its_rate_gets_429_with_retry_after(ingest: TestClient,
                                                        jwt_secret: bytes) -> None:
    headers = auth(jwt_secret)
    assert [ingest.post("/v1/events", json=ev(), headers=headers).status_code
            for _ in range(2)] == [200, 200]
    limited = ingest.post("/v1/events", json=ev(), headers=headers)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
    other = issue_token(jwt_secret, subject="another-fagsystem", role=Role.fagsystem,
                        municipalities=["851"])
    assert ingest.post("/v1/events", json=ev(),
                       headers={"Authorization": f"Bearer {other}"}).status_code == 200


@pytest.mark.parametrize("body, why", [
    (b"[" * 5000 + b"]" * 5000, "deep nesting"),
    (b'{"type": "samtale", "x": NaN}', "NaN"),
    (b'{"a": Infinity}', "Infinity"),
    (b'{"event_id": "\xff\xfe"}', "invalid UTF-8"),
    (b"", "empty body"),
])
def test_hostile_json_bodies_are_400_problems(ingest: TestClient, jwt_secret: bytes,
                                              body: bytes, why: str) -> None:
    response = ingest.post("/v1/events", content=body,
                           headers={**auth(jwt_secret), "Content-Type": "application/json"})
    assert response.status_code == 400, why
    assert response.headers["content-type"] == "application/problem+json"


def test_timestamps_and_odd_offsets_are_refused_per_event(ingest: TestClient,
                                                          jwt_secret: bytes) -> None:
    batch = [ev(occurred_at="2019-03-01T00:00:00+14:00"), ev(occurred_at="2019-03-01"),
             ev(occurred_at="2019-03-01Z")]
    body = ingest.post("/v1/events", json=batch, headers=auth(jwt_secret)).json()
    assert [r["status"] for r in body["results"]] == ["rejected", "accepted", "rejected"]
    assert body["results"][0]["problem"]["errors"][0]["loc"] == ["occurred_at"]


def test_a_body_over_the_byte_limit_is_413(settings: Settings, db: asyncpg.Pool,
                                           jwt_secret: bytes) -> None:
    small = settings.model_copy(update={"ingest_max_bytes": 2_000})
    with TestClient(create_app(small, relay=False)) as client:
        response = client.post("/v1/events", content=orjson.dumps([ev() for _ in range(10)]),
                               headers={**auth(jwt_secret), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_responses_leak_no_server_version_and_allow_no_cross_origin(
        ingest: TestClient) -> None:
    response = ingest.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "server" not in response.headers
    assert "access-control-allow-origin" not in response.headers


def test_duplicate_keys_are_refused_and_cost_only_their_line(ingest: TestClient,
                                                              jwt_secret: bytes) -> None:
    one = orjson.dumps(ev()).decode()
    twice = one[:-1] + ', "municipality": "101"}'  # the same key again, another value
    whole = ingest.post("/v1/events", content=twice.encode(),
                        headers={**auth(jwt_secret), "Content-Type": "application/json"})
    assert whole.status_code == 400 and "duplicate key 'municipality'" in whole.json()["detail"]
    lines = "\n".join([twice, orjson.dumps(ev()).decode()]).encode()
    body = ingest.post("/v1/events", content=lines,
                       headers={**auth(jwt_secret), "Content-Type": "application/x-ndjson"}).json()
    assert [r["status"] for r in body["results"]] == ["rejected", "accepted"]
    assert "duplicate key" in body["results"][0]["problem"]["detail"]
