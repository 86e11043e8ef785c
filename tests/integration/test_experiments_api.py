"""The experiments router on a minimal app (the base app + this router), against a real
PostgreSQL event store filled by hand; every expected number is worked out in comments."""

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
from services.gateway.experiments import router
from tests.conftest import TEST_JWT_SECRET, make_settings

TODAY = date(2020, 3, 1)
KEY = b"k" * 32
CVRS = ["12345674", "10000009", "30000005", "20000016", "40000001"]


@pytest.fixture
def settings(tmp_path: Path, postgres: EmbeddedPostgres) -> Settings:
    # No broker: this router reads the event store only.
    return make_settings(tmp_path, database_url=postgres.url(), today=TODAY)


def _event(citizen: str, municipality: str, kind: str, on: str,
           data: dict[str, Any]) -> NewEvent:
    fields = {"citizen_id": citizen, "type": kind, "data": data, "on": on}
    return NewEvent(event_id=uuid.uuid4(), citizen_id=citizen, municipality=municipality,
                    type=kind, schema_version=2 if kind == "samtale" else 1,
                    occurred_at=date.fromisoformat(on), source="test", case_ref=None,
                    data=data, body_hash=body_hash(KEY, fields))


def visitation(citizen: str, municipality: str, on: str, programme: str,
               target_group: str) -> NewEvent:
    return _event(citizen, municipality, "visitation", on,
                  {"programme": programme, "target_group": target_group, "group": None})


def samtale(citizen: str, municipality: str, on: str) -> NewEvent:
    return _event(citizen, municipality, "samtale", on,
                  {"form": "phone", "held": True, "kind": "sygeopfoelgning"})


def graduates() -> list[NewEvent]:
    # Six graduates marked in Aalborg on 1 Sep 2017; five register a business on
    # 1 Oct 2017 (24 months = 1 Oct 2019, before today); one of them ceases 1 Jun 2018.
    # Plans 6, businesses 5, alive after 24 months 4 (of 5 due, 0 not yet due).
    events = [visitation(f"g{i}", "851", "2017-09-01", "ivaerksaetteri_dimittender",
                         "dagpenge_dimittend") for i in range(6)]
    events += [_event(f"g{i}", "851", "cvr_registered", "2017-10-01", {"cvr": CVRS[i]})
               for i in range(5)]
    events.append(_event("g0", "851", "cvr_ceased", "2018-06-01", {"cvr": CVRS[0]}))
    return events


def sickness() -> list[NewEvent]:
    # Rebild (840, formkrav_sygedagpenge) and København (101, comparison): five citizens
    # each on sygedagpenge from 1 Jan 2017; everyone has a samtale in Q1 2017; in Q1 2018
    # Rebild's have two each, København's one each.
    events = []
    for municipality, per_2018 in (("840", 2), ("101", 1)):
        for i in range(5):
            citizen = f"s{municipality}-{i}"
            events.append(visitation(citizen, municipality, "2017-01-01", "sygeopfoelgning",
                                     "sygedagpenge"))
            events.append(samtale(citizen, municipality, "2017-02-01"))
            events += [samtale(citizen, municipality, day)
                       for day in ("2018-01-10", "2018-02-10")[:per_2018]]
    return events


def ledighedsydelse() -> list[NewEvent]:
    # Five citizens on ledighedsydelse in Aalborg from 1 Jan 2016. The 365th benefit day is
    # 30 Dec 2016 (triggered), the 548th 1 Jul 2017 (due; ordinary rule: Aalborg's
    # experiment starts 1 Jul 2018). Three hold the revurdering on 1 Mar 2017 (on time), two
    # never (overdue). Later reassessments fall in the experiment: waived, none laid down.
    events = []
    for i in range(5):
        events.append(visitation(f"l{i}", "851", "2016-01-01", "kontaktforloeb",
                                 "ledighedsydelse"))
        if i < 3:
            events.append(_event(f"l{i}", "851", "samtale", "2017-03-01",
                                 {"form": "in_person", "held": True, "kind": "revurdering"}))
    return events


async def _fill(pool: asyncpg.Pool, events: list[NewEvent]) -> None:
    async with pool.acquire() as conn:
        await append(conn, events)


@pytest.fixture
async def filled(db: asyncpg.Pool) -> None:
    await _fill(db, graduates() + sickness() + ledighedsydelse())


@pytest.fixture
def client(settings: Settings, filled: None) -> Iterator[TestClient]:
    app: FastAPI = create_base_app(settings, service="gateway", title="t", description="t")
    app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


def bearer(role: Role, municipalities: list[str] | None = None) -> dict[str, str]:
    token = issue_token(TEST_JWT_SECRET.encode(), subject="t", role=role,
                        municipalities=municipalities or [])
    return {"Authorization": f"Bearer {token}"}


NATIONAL = bearer(Role.national)
MUNICIPALITY = bearer(Role.municipality, ["851"])


def test_the_list_needs_a_reader_token(client: TestClient) -> None:
    assert client.get("/v1/experiments").status_code == 401
    assert client.get("/v1/experiments", headers=bearer(Role.ops)).status_code == 403
    listed = client.get("/v1/experiments", headers=MUNICIPALITY).json()
    by_id = {e["id"]: e for e in listed}
    # Today is 1 Mar 2020; the network's experiments run to 31 Jul 2020.
    assert by_id["mikrolaan"]["status"] == "running"
    assert by_id["foertidspension_loentilskud"]["end"] == "2021-12-31"
    assert by_id["formkrav_sygedagpenge"]["lab_codes"] == [{"lab_2": "2.5", "lab_6": "6.6"}]


def test_an_unknown_experiment_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/v1/experiments/no_such_thing", headers=NATIONAL)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_status_against_the_targets(client: TestClient) -> None:
    body = client.get("/v1/experiments/ivaerksaetteri_dimittender", headers=NATIONAL).json()
    targets = {t["id"]: t for t in body["targets"]}
    assert (targets["plans"]["value"], targets["plans"]["target"]) == (6, 100)
    assert targets["active_cvr"]["value"] == 5
    alive = targets["alive_two_years"]
    assert (alive["value"], alive["denominator"], alive["not_yet_due"]) == (4, 5, 0)
    assert body["members"] == 6
    sources = body["registry"]["targets"][0]["source"]
    assert sources["seed"] == "000" and sources["first_line"] == 245


def test_small_counts_are_suppressed_for_the_municipality_role(client: TestClient) -> None:
    body = client.get("/v1/experiments/ivaerksaetteri_dimittender",
                      headers=MUNICIPALITY).json()
    targets = {t["id"]: t for t in body["targets"]}
    assert targets["alive_two_years"]["suppressed"] is True  # 4 alive: 1-4 are hidden
    assert targets["alive_two_years"]["value"] is None
    assert targets["plans"]["value"] == 6


def test_followup_windows_in_three_states(client: TestClient) -> None:
    # CVR survival: registered 1 Oct 2017 (cohort 2017-H2). 6 m (1 Apr 2018): 5 alive;
    # 12 m (1 Oct 2018): 4 (g0 ceased 1 Jun 2018); 18 and 24 m: 4.
    body = client.get("/v1/experiments/ivaerksaetteri_dimittender/followup",
                      headers=NATIONAL).json()
    rows = {(r["months"]): (r["yes"], r["no"], r["not_yet_due"]) for r in body["rows"]}
    assert rows == {6: (5, 0, 0), 12: (4, 1, 0), 18: (4, 1, 0), 24: (4, 1, 0)}


def test_comparison_with_did_from_pooled_counts(client: TestClient) -> None:
    # Samtaler per citizen per quarter; start 1 Jul 2017. Before (2017-Q1, Q2): Rebild
    # 5 samtaler / 10 citizen-quarters, København 5 / 10. After: 2017-Q3 .. 2020-Q1 (today
    # 1 Mar 2020) = 11 quarters x 5 citizens = 55: Rebild 10 / 55, København 5 / 55.
    # DiD = (10/55 - 1/2) - (5/55 - 1/2) = 5/55 = 1/11.
    response = client.get("/v1/experiments/formkrav_sygedagpenge/comparison",
                          params={"indicator": "samtaler_per_citizen", "comparison": "101"},
                          headers=NATIONAL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["trial_before"]["numerator"], body["trial_before"]["denominator"]) == (5, 10)
    assert (body["trial_after"]["numerator"], body["trial_after"]["denominator"]) == (10, 55)
    assert (body["comparison_after"]["numerator"],
            body["comparison_after"]["denominator"]) == (5, 55)
    assert body["did"] == pytest.approx(1 / 11)
    assert body["unit"] == "per_citizen" and body["did_points"] is None
    assert body["periods_before"] == ["2017-Q1", "2017-Q2"]
    assert [p["gap"] for p in body["pre_trend"]] == [0.0, 0.0]
    assert body["pre_trend_slope"] == 0.0


def test_a_comparison_needs_comparison_municipalities(client: TestClient) -> None:
    response = client.get("/v1/experiments/formkrav_sygedagpenge/comparison",
                          params={"indicator": "samtaler_per_citizen"}, headers=NATIONAL)
    assert response.status_code == 422
    assert "comparison" in response.json()["detail"]


def test_a_comparison_refuses_an_indicator_it_cannot_compute(client: TestClient) -> None:
    response = client.get("/v1/experiments/formkrav_sygedagpenge/comparison",
                          params={"indicator": "on_time:integration_samtaler",
                                  "comparison": "101"}, headers=NATIONAL)
    assert response.status_code == 422


def test_the_registered_comparison_municipalities_are_the_default(client: TestClient) -> None:
    response = client.get("/v1/experiments/rehabiliteringsteam_lae265/comparison",
                          params={"indicator": "outcome_windows:3"}, headers=NATIONAL)
    assert response.status_code == 200, response.text
    assert len(response.json()["comparison_municipalities"]) == 16



def test_whether_the_rules_were_kept_per_rule_variant(client: TestClient) -> None:
    body = client.get("/v1/experiments/ledighedsydelse_revurdering", headers=NATIONAL).json()
    (cadence,) = body["cadence"]
    assert (cadence["family"], cadence["variant"]) == ("ledighedsydelse_revurdering",
                                                       "ordinary")
    assert (cadence["on_time"]["numerator"], cadence["on_time"]["denominator"]) == (3, 5)
    assert cadence["overdue_citizens"] == 2
    hidden = client.get("/v1/experiments/ledighedsydelse_revurdering",
                        headers=MUNICIPALITY).json()["cadence"][0]
    assert hidden["on_time"]["suppressed"] and hidden["overdue_citizens"] is None
