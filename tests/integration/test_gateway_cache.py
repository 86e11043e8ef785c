"""The gateway's response cache and token memory (services/gateway/response_cache.py,
tokens.py): a kept answer never crosses a visibility class, a metrics flush is visible
within the freshness bound, and a remembered token still expires and still needs its role.

Read models by hand: fsm_virksomhedsforloeb 2019-06, Aalborg (851) 43 / 100 and Læsø (825)
4 / 10 — a numerator of 4 is suppressed for every role but national."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.storage.checkpoints import write_checkpoint
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import migrate
from services.gateway.app import create_app
from services.gateway.freshness import Cached
from services.gateway.response_cache import FRESHNESS_SECONDS, AnswerStore
from services.gateway.tokens import VerifiedTokens
from tests.conftest import TEST_JWT_SECRET, make_settings

VF = "fsm_virksomhedsforloeb"
VALUES = f"/v1/indicators/{VF}/values"
RANKING = f"/v1/indicators/{VF}/ranking"
SECRET = TEST_JWT_SECRET.encode()


def token(role: Role, *municipalities: str, **kwargs: object) -> str:
    return issue_token(SECRET, subject="tester", role=role,
                       municipalities=list(municipalities), **kwargs)  # type: ignore[arg-type]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


NATIONAL = bearer(token(Role.national))
AALBORG = bearer(token(Role.municipality, "851"))
LAESOE = {"municipality": "825", "period": "2019-06"}


async def fill(settings: Settings) -> None:
    conn = await connect(settings)
    try:
        await migrate(conn, settings.database_schema)
        await conn.executemany(
            """INSERT INTO indicator_counts VALUES ($1, $2, '2019-06', 1, 0, $3, $4, 30,
                   '2019-07-15T08:00:00Z')""", [(VF, "851", 43, 100), (VF, "825", 4, 10)])
        await conn.execute("UPDATE event_store_head SET position = 30")
        await conn.executemany("INSERT INTO checkpoints (name, position) VALUES ($1, 30)",
                               [(f"metrics:p{p}",) for p in range(4)])
    finally:
        await conn.close()


async def set_aalborg(settings: Settings, numerator: int, *, flush: bool) -> None:
    """New counts for Aalborg; with `flush`, as the metrics worker writes them: the counts
    and the partition's checkpoint in one transaction."""
    conn = await connect(settings)
    try:
        async with conn.transaction():
            await conn.execute("""UPDATE indicator_counts SET numerator = $1
                                  WHERE municipality = '851'""", numerator)
            if flush:
                await write_checkpoint(conn, "metrics:p0", 30)
    finally:
        await conn.close()


@pytest.fixture
def settings(tmp_path: Path, postgres: EmbeddedPostgres) -> Settings:
    settings = make_settings(tmp_path, database_url=postgres.url(), today="2019-07-15")
    asyncio.run(fill(settings))
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:  # the default bounds, as served
        yield test_client


def store(client: TestClient) -> AnswerStore:
    return client.app.state.response_cache.store  # type: ignore[attr-defined]


def test_a_municipality_is_never_answered_from_a_national_answer(client: TestClient) -> None:
    national = client.get(VALUES, params=LAESOE, headers=NATIONAL)
    assert national.json()["numerator"] == 4 and national.json()["suppressed"] is False
    assert client.get(VALUES, params=LAESOE, headers=NATIONAL).content == national.content
    assert store(client).hits == 1  # the second national request was a kept answer
    for _ in range(2):  # the miss, then the municipality class's own kept answer
        shown = client.get(VALUES, params=LAESOE, headers=AALBORG).json()
        assert (shown["numerator"], shown["denominator"], shown["value"],
                shown["suppressed"]) == (None, None, None, True)
    assert store(client).hits == 2
    # The same in the ranking, asked first by the municipality this time.
    for headers, numerator in ((AALBORG, None), (NATIONAL, 4), (AALBORG, None), (NATIONAL, 4)):
        entries = client.get(RANKING, params={"period": "2019-06"}, headers=headers).json()
        laesoe = next(e for e in entries["entries"] if e["municipality"] == "825")
        assert laesoe["numerator"] == numerator
    assert store(client).hits == 4
    # CSV is another answer, not the kept JSON.
    csv = client.get(VALUES, params=LAESOE, headers={**NATIONAL, "Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv") and ",4,10," in csv.text
    # Kept answers are still counted in the request histogram: 5 values requests.
    metrics = client.get("/metrics", headers=NATIONAL).text  # the gateway's needs ops/national
    assert ('kommunepuls_http_request_duration_seconds_count{method="GET",'
            'route="/v1/indicators/{indicator_id}/values",service="gateway",status="200"} 5.0'
            in metrics)


def test_a_flush_is_visible_within_the_freshness_bound(client: TestClient,
                                                       settings: Settings) -> None:
    assert client.get(VALUES, params={"municipality": "851", "period": "2019-06"},
                      headers=AALBORG).json()["numerator"] == 43
    asyncio.run(set_aalborg(settings, 50, flush=True))
    time.sleep(FRESHNESS_SECONDS + 0.05)
    assert client.get(VALUES, params={"municipality": "851", "period": "2019-06"},
                      headers=AALBORG).json()["numerator"] == 50


def test_answers_are_kept_while_the_read_models_have_not_moved(client: TestClient,
                                                               settings: Settings) -> None:
    params = {"municipality": "851", "period": "2019-06"}
    first = client.get(VALUES, params=params, headers=AALBORG)
    # Counts changed behind the metrics worker's back (no checkpoint): the kept answer
    # stays, which shows it is kept by version and not merely for a while.
    asyncio.run(set_aalborg(settings, 7, flush=False))
    time.sleep(FRESHNESS_SECONDS + 0.05)
    assert client.get(VALUES, params=params, headers=AALBORG).content == first.content
    assert store(client).hits == 1


def test_a_kept_answer_still_needs_a_valid_token_and_a_reading_role(
        client: TestClient) -> None:
    assert client.get(VALUES, params=LAESOE, headers=NATIONAL).status_code == 200
    refused = {
        "ops": (bearer(token(Role.ops)), 403),
        "fagsystem": (bearer(token(Role.fagsystem, "825")), 403),
        "forged": (bearer(issue_token(b"another-secret-" + b"x" * 32, subject="x",
                                      role=Role.national)), 401),
        "expired": (bearer(token(Role.national, ttl_seconds=10, now=time.time() - 60)), 401),
        "no scheme": ({"Authorization": NATIONAL["Authorization"].split()[1]}, 401),
        "none": ({}, 401),
    }
    for name, (headers, status) in refused.items():
        response = client.get(VALUES, params=LAESOE, headers=headers)
        assert response.status_code == status, name
        assert response.headers["content-type"] == "application/problem+json", name
    assert store(client).hits == 0


def test_a_remembered_token_expires_at_its_exp(client: TestClient) -> None:
    # exp is 2 s from now (whole seconds): remembered at the first request, refused after.
    short = bearer(token(Role.national, ttl_seconds=62, now=time.time() - 60))
    assert client.get(VALUES, params=LAESOE, headers=short).status_code == 200
    assert client.get(VALUES, params=LAESOE, headers=short).status_code == 200
    time.sleep(2.05)
    assert client.get(VALUES, params=LAESOE, headers=short).status_code == 401


def test_verified_tokens_compare_the_clock_with_exp_only_after_one_verification() -> None:
    now = [1_000_000.0]
    tokens = VerifiedTokens(SECRET, clock=lambda: now[0])
    fresh = token(Role.municipality, "851", ttl_seconds=100, now=time.time())
    principal = tokens.principal(fresh)
    assert principal is not None and principal.municipalities == frozenset({"851"})
    assert tokens.principal("not.a.token") is None
    assert tokens.principal(fresh[:-2] + "xx") is None  # a forged signature
    # Remembered: the fake clock decides from now on (PyJWT's rule, exp <= now is expired).
    exp = jwt.decode(fresh, options={"verify_signature": False})["exp"]
    now[0] = exp - 0.001
    assert tokens.principal(fresh) == principal
    now[0] = exp
    assert tokens.principal(fresh) is None


def test_without_a_version_the_app_answers_itself(client: TestClient) -> None:
    cache = client.app.state.response_cache  # type: ignore[attr-defined]

    async def unreachable() -> None:
        raise OSError("connection refused")

    cache.start(unreachable, client.app.state.freshness)  # type: ignore[attr-defined]
    for _ in range(2):
        assert client.get(VALUES, params=LAESOE, headers=NATIONAL).json()["numerator"] == 4
    assert (store(client).hits, store(client).misses) == (0, 0)


def test_a_cached_value_past_half_its_age_is_reloaded_in_the_background() -> None:
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.1)
        return loads

    async def run() -> None:
        cached = Cached(load, ttl_s=0.4)
        assert await cached.get() == 1
        await asyncio.sleep(0.25)  # past half the age limit: answered at once, reloaded behind
        started = time.monotonic()
        assert await cached.get() == 1 and await cached.get() == 1
        assert time.monotonic() - started < 0.05  # nobody waited for the 100 ms load
        await asyncio.sleep(0.15)
        assert loads == 2 and await cached.get() == 2
        await asyncio.sleep(0.45)  # past the age limit: the caller waits for a fresh load
        assert await cached.get() == 3

    asyncio.run(run())
