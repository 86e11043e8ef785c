"""POST /v1/events against a real database: results per event, scoping, no CPR stored."""

import json
from collections.abc import Iterator
from copy import deepcopy
from typing import Any
from uuid import uuid4

import asyncpg
import orjson
import pytest
from fastapi.testclient import TestClient

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.domain.events import EXAMPLES
from kommunepuls.domain.examples import EXAMPLE_CPR
from services.ingest.app import create_app

CPR_B = "0202851234"


def ev(kind: str = "tilbud_started", **changes: Any) -> dict[str, Any]:
    event = deepcopy(EXAMPLES[kind])
    event["event_id"] = str(uuid4())
    data = changes.pop("data", None)
    if data:
        event["data"].update(data)
    event.update(changes)
    return event


def auth(secret: bytes, role: Role = Role.fagsystem, municipalities: tuple[str, ...] = ("851",)
         ) -> dict[str, str]:
    token = issue_token(secret, subject="fagsystem-x", role=role,
                        municipalities=list(municipalities))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ingest(settings: Settings, db: asyncpg.Pool) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"ingest_max_events": 50}), relay=False)
    with TestClient(app) as client:
        yield client


def test_one_event_is_accepted_with_its_position(ingest: TestClient, jwt_secret: bytes) -> None:
    response = ingest.post("/v1/events", json=ev(), headers=auth(jwt_secret))
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 0)
    assert body["results"][0]["position"] == 1 and body["results"][0]["problem"] is None


def test_good_events_beside_bad_ones_are_stored(ingest: TestClient, jwt_secret: bytes) -> None:
    batch = [ev("visitation"), ev(data={"kind": "paraglider"}), ev("samtale")]
    body = ingest.post("/v1/events", json=batch, headers=auth(jwt_secret)).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    problem = body["results"][1]["problem"]
    assert problem["status"] == 422 and problem["type"].endswith("/validation")
    assert problem["errors"][0]["loc"] == ["data", "kind"]
    assert [r["position"] for r in body["results"]] == [1, None, 2]


def test_ndjson_with_a_broken_line_keeps_the_good_lines(ingest: TestClient,
                                                        jwt_secret: bytes) -> None:
    lines = [orjson.dumps(ev()), b'{"event_id": "broken', orjson.dumps(ev("samtale"))]
    response = ingest.post("/v1/events", content=b"\n".join(lines),
                           headers={**auth(jwt_secret), "Content-Type": "application/x-ndjson"})
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert body["results"][1]["problem"]["type"].endswith("/malformed-json")
    assert "line 2" in body["results"][1]["problem"]["detail"]


def test_same_event_twice_is_a_duplicate_with_the_original_position(
        ingest: TestClient, jwt_secret: bytes) -> None:
    event = ev()
    first = ingest.post("/v1/events", json=[ev(), event], headers=auth(jwt_secret)).json()
    again = ingest.post("/v1/events", json=event, headers=auth(jwt_secret)).json()
    assert again["duplicates"] == 1
    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["position"] == first["results"][1]["position"] == 2


def test_same_event_id_with_another_body_is_rejected_as_conflict(
        ingest: TestClient, jwt_secret: bytes) -> None:
    event = ev()
    ingest.post("/v1/events", json=event, headers=auth(jwt_secret))
    changed = {**event, "occurred_at": "2019-03-02"}
    body = ingest.post("/v1/events", json=changed, headers=auth(jwt_secret)).json()
    result = body["results"][0]
    assert result["status"] == "rejected" and result["problem"]["status"] == 409
    assert result["problem"]["errors"] == [{"loc": ["event_id"],
                                            "msg": "already used for another event"}]


def test_an_event_for_another_municipality_is_rejected_per_item(
        ingest: TestClient, jwt_secret: bytes) -> None:
    batch = [ev(), ev(municipality="101")]
    body = ingest.post("/v1/events", json=batch, headers=auth(jwt_secret)).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected"]
    assert body["results"][1]["problem"]["status"] == 403
    assert body["results"][1]["problem"]["errors"][0]["loc"] == ["municipality"]


def test_body_errors_are_problems(ingest: TestClient, jwt_secret: bytes) -> None:
    headers = auth(jwt_secret)
    bad_json = ingest.post("/v1/events", content=b"{nope",
                           headers={**headers, "Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert bad_json.headers["content-type"] == "application/problem+json"
    wrong_type = ingest.post("/v1/events", content=b"<xml/>",
                             headers={**headers, "Content-Type": "application/xml"})
    assert wrong_type.status_code == 415
    too_many = ingest.post("/v1/events", json=[ev() for _ in range(51)], headers=headers)
    assert too_many.status_code == 413 and "at most 50" in too_many.json()["detail"]


async def test_no_cpr_is_stored_anywhere_in_the_database(
        ingest: TestClient, jwt_secret: bytes, db: asyncpg.Pool,
        capfd: pytest.CaptureFixture[str]) -> None:
    batch = [ev(), ev("visitation", cpr=CPR_B), ev(data={"kind": "nope"}, cpr=CPR_B)]
    body = ingest.post("/v1/events", json=batch, headers=auth(jwt_secret)).json()
    assert body["accepted"] == 2
    dump = "\n".join(str(dict(r)) for r in await db.fetch("SELECT * FROM events"))
    checkpoints = "\n".join(str(dict(r)) for r in await db.fetch("SELECT * FROM checkpoints"))
    for cpr in (EXAMPLE_CPR, CPR_B):
        assert cpr not in dump and cpr not in checkpoints
        assert cpr not in orjson.dumps(body).decode()
    citizens = {r["citizen_id"] for r in await db.fetch("SELECT citizen_id FROM events")}
    assert len(citizens) == 2 and all(len(c) == 64 for c in citizens)
    out, err = capfd.readouterr()
    assert EXAMPLE_CPR not in out + err and CPR_B not in out + err


def test_openapi_documents_the_contract_with_examples(ingest: TestClient) -> None:
    spec = ingest.get("/openapi.json").json()
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    assert "application/x-ndjson" in body
    assert body["application/json"]["examples"]["one"]["value"]["type"] == "tilbud_started"
    assert "EventIn" in spec["components"]["schemas"]


@pytest.mark.parametrize("odd", [
    {"type": ["tilbud_started"]},             # an unhashable type
    {"type": {"kind": "samtale"}},
    {"event_id": "\ud800" + "a" * 10},        # a lone surrogate, echoed back before
    {"\udfff": 1},                            # ... in a field name the error names
    {"source": "\ud83d"},
])
def test_odd_values_are_rejected_per_item_never_a_500(ingest: TestClient, jwt_secret: bytes,
                                                      odd: dict[str, Any]) -> None:
    bad = ev() | odd
    # The lone surrogates can only be sent as \u escapes: they are not UTF-8.
    body = orjson.dumps([ev("visitation"), "@BAD@"]).replace(
        b'"@BAD@"', json.dumps(bad).encode())
    response = ingest.post("/v1/events", content=body, headers={
        **auth(jwt_secret), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["problem"]["status"] == 422
