"""GET /v1/experiments/{id}/overdue: a municipality's own overdue list, audited like the
work list; on a minimal app against a real PostgreSQL event store filled by hand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.storage.event_store import NewEvent, append, body_hash
from kommunepuls.web.app import create_base_app
from services.gateway.experiments_overdue import router
from tests.conftest import TEST_JWT_SECRET, make_settings

TODAY = date(2020, 3, 1)
KEY = b"k" * 32
URL = "/v1/experiments/ledighedsydelse_revurdering/overdue"


@pytest.fixture
def settings(tmp_path: Path, postgres: EmbeddedPostgres) -> Settings:
    return make_settings(tmp_path, database_url=postgres.url(), today=TODAY)


def _event(citizen: str, municipality: str, kind: str, on: str, data: dict[str, Any],
           case_ref: str | None = None) -> NewEvent:
    fields = {"citizen_id": citizen, "type": kind, "data": data, "on": on}
    return NewEvent(event_id=uuid.uuid4(), citizen_id=citizen, municipality=municipality,
                    type=kind, schema_version=2 if kind == "samtale" else 1,
                    occurred_at=date.fromisoformat(on), source="test", case_ref=case_ref,
                    data=data, body_hash=body_hash(KEY, fields))


def ledighedsydelse() -> list[NewEvent]:
    # Aalborg (851): five citizens on ledighedsydelse from 1 Jan 2016 — members of
    # ledighedsydelse_revurdering by rule (851 is in it, target group ledighedsydelse).
    # The 548th benefit day is 1 Jul 2017: the ordinary revurdering is due then (Aalborg's
    # experiment starts 1 Jul 2018). l0-l2 hold it on 1 Mar 2017 (on time); l3 (case
    # S-3) and l4 never: overdue since 1 Jul 2017. Today 1 Mar 2020: 1 Jul 2017 -> 1 Jul
    # 2019 is 730 days, + Jul 31 + Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31 + Jan 31 +
    # Feb 29 = 244 -> 974 days overdue.
    # Vesthimmerland (820) has one more overdue citizen, x0: never on Aalborg's list.
    events = []
    for citizen, municipality in [(f"l{i}", "851") for i in range(5)] + [("x0", "820")]:
        events.append(_event(citizen, municipality, "visitation", "2016-01-01",
                             {"programme": "kontaktforloeb", "target_group": "ledighedsydelse",
                              "group": None}, case_ref="S-3" if citizen == "l3" else None))
        if citizen in ("l0", "l1", "l2"):
            events.append(_event(citizen, municipality, "samtale", "2017-03-01",
                                 {"form": "in_person", "held": True, "kind": "revurdering"}))
    return events


@pytest.fixture
async def filled(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        await append(conn, ledighedsydelse())


@pytest.fixture
def client(settings: Settings, filled: None) -> Iterator[TestClient]:
    app: FastAPI = create_base_app(settings, service="gateway", title="t", description="t")
    app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


def bearer(role: Role, municipalities: list[str] | None = None,
           subject: str = "t") -> dict[str, str]:
    token = issue_token(TEST_JWT_SECRET.encode(), subject=subject, role=role,
                        municipalities=municipalities or [])
    return {"Authorization": f"Bearer {token}"}


async def _audit(db: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await db.fetch("""SELECT subject, role, municipality, indicator, period, outcome,
                                    citizens FROM worklist_access ORDER BY id""")
    return [dict(r) for r in rows]


def _expected(citizen: str, case_ref: str | None) -> dict[str, Any]:
    return {"citizen_id": citizen, "case_ref": case_ref, "family": "ledighedsydelse_revurdering",
            "variant": "ordinary", "due": "2017-07-01", "days_overdue": 974}


async def test_own_municipality_sees_its_overdue_members_and_is_audited(
        client: TestClient, db: asyncpg.Pool) -> None:
    response = client.get(URL, params={"municipality": "851"},
                          headers=bearer(Role.municipality, ["851"], subject="aalborg-1"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["experiment"], body["municipality"], body["today"]) == (
        "ledighedsydelse_revurdering", "851", "2020-03-01")
    assert body["citizens"] == 2
    rows = body["rows"]
    assert all(r.pop("rule") for r in rows)  # a rule version id, whatever its spelling
    assert rows == [_expected("l3", "S-3"), _expected("l4", None)]
    assert await _audit(db) == [{
        "subject": "aalborg-1", "role": "municipality", "municipality": "851",
        "indicator": "experiment:ledighedsydelse_revurdering:overdue", "period": "2020-03-01",
        "outcome": "granted", "citizens": 2}]


async def test_another_municipality_is_refused_and_audited(
        client: TestClient, db: asyncpg.Pool) -> None:
    response = client.get(URL, params={"municipality": "820"},
                          headers=bearer(Role.municipality, ["851"], subject="aalborg-1"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "x0" not in response.text
    (row,) = await _audit(db)
    assert (row["municipality"], row["outcome"], row["citizens"]) == ("820", "denied", None)


async def test_the_national_role_is_refused_and_audited(
        client: TestClient, db: asyncpg.Pool) -> None:
    response = client.get(URL, params={"municipality": "851"}, headers=bearer(Role.national))
    assert response.status_code == 403
    (row,) = await _audit(db)
    assert (row["role"], row["municipality"], row["outcome"]) == ("national", "851", "denied")


def test_no_token_is_401_and_a_municipality_is_required(client: TestClient) -> None:
    assert client.get(URL, params={"municipality": "851"}).status_code == 401
    own = bearer(Role.municipality, ["851"])
    assert client.get(URL, headers=own).status_code == 422


def test_an_unknown_experiment_is_a_404(client: TestClient) -> None:
    response = client.get("/v1/experiments/no_such_thing/overdue",
                          params={"municipality": "851"},
                          headers=bearer(Role.municipality, ["851"]))
    assert response.status_code == 404
