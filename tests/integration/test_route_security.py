"""Every route of both HTTP APIs against every kind of bad token: 401 or 403, as RFC 9457
problem JSON, before anything is read or written.

The routes come from the apps' own route tables (route_table.py), so a route added tomorrow
is covered without touching this file: it gets every bad-token case at once, and
`test_every_route_is_protected_or_public` fails until it is either in ACCESS (who may call
it) or in PUBLIC (why no token is needed). Path and required query parameters take the
examples of the OpenAPI document, so each request would succeed with a good token — which
`test_a_good_token_passes` proves, lest a route that refuses everyone pass as "secure".

One schema (empty but migrated) and one instance of each app for the whole module.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from kommunepuls.auth import Role
from kommunepuls.config import Settings
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import migrate
from kommunepuls.web.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE
from services.gateway.app import create_app as create_gateway
from services.ingest.app import create_app as create_ingest
from tests.conftest import make_settings
from tests.integration.route_table import (
    ACCESS,
    ENDPOINTS,
    MUNICIPAL_ROLES,
    OTHER,
    PROTECTED,
    PUBLIC,
    PUBLIC_IN,
    Call,
    Endpoint,
    call_for,
    send,
)
from tests.integration.route_tokens import (
    MUNICIPALITY_DEFECTS,
    TOKEN_DEFECTS,
    base_role,
    bearer,
    claims,
    role_token,
)

# --- the cases -----------------------------------------------------------------------------

def _bad_token_cases() -> list[Any]:
    cases = []
    for endpoint in PROTECTED:
        defects = list(TOKEN_DEFECTS)
        if base_role(endpoint) in MUNICIPAL_ROLES:
            defects += list(MUNICIPALITY_DEFECTS)
        cases += [pytest.param(endpoint, d, id=f"{endpoint} | {d}") for d in defects]
    return cases


def _wrong_role_cases() -> list[Any]:
    return [pytest.param(e, role, id=f"{e} | role {role.value}")
            for e in PROTECTED if e.key in ACCESS
            for role in Role if role not in ACCESS[e.key].roles]


SCOPED = [pytest.param(e, id=str(e)) for e in PROTECTED
          if e.key in ACCESS and ACCESS[e.key].scope is not None]


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory,
            postgres: EmbeddedPostgres) -> Iterator[dict[str, TestClient]]:
    # Every refused request comes from one client address, one rate-limit bucket on ingest:
    # a burst above the case count keeps a 429 from standing in for the 401 under test.
    settings = make_settings(tmp_path_factory.mktemp("route-security"),
                             database_url=postgres.url(), today="2019-07-15",
                             ingest_rate_limit_burst=10_000)
    asyncio.run(_migrate(settings))
    with TestClient(create_gateway(settings, cache_seconds=0)) as gateway, \
            TestClient(create_ingest(settings, relay=False)) as ingest:
        yield {"gateway": gateway, "ingest": ingest}


async def _migrate(settings: Settings) -> None:
    conn = await connect(settings)
    try:
        await migrate(conn, settings.database_schema)
    finally:
        await conn.close()


def fetchval(client: TestClient, sql: str, *args: object) -> Any:
    # On the app's own pool, in the app's event loop.
    return client.portal.call(client.app.state.pool.fetchval, sql, *args)  # type: ignore[attr-defined,union-attr]


def assert_problem(response: Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    slug, title = ("unauthorized", "Authentication required") if status == 401 \
        else ("forbidden", "Access denied")
    assert (body["type"], body["title"], body["status"]) == (PROBLEM_BASE + slug, title, status)
    assert body["detail"]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def stored(client: TestClient, call: Call) -> int:
    """How many events carry the id of the event the call sent (0 if it sent none)."""
    if not (isinstance(call.body, dict) and "event_id" in call.body):
        return 0
    return int(fetchval(client, "SELECT count(*) FROM events WHERE event_id = $1::uuid",
                        call.body["event_id"]))


def assert_nothing_written(client: TestClient, call: Call, subject: str) -> None:
    """The refused request stored no event and left no audit row under its subject."""
    assert stored(client, call) == 0
    audited = fetchval(client, "SELECT count(*) FROM worklist_access WHERE subject = $1",
                       subject)
    assert audited == 0


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=str(e)) for e in ENDPOINTS])
def test_every_route_is_protected_or_public(endpoint: Endpoint) -> None:
    if endpoint.public:
        assert not endpoint.protected, f"{endpoint} verifies tokens: take it out of PUBLIC"
        return
    assert endpoint.protected, (f"{endpoint} verifies no token: protect it, or add it to "
                                "PUBLIC with the reason it may be open")
    assert endpoint.key in ACCESS, f"{endpoint}: add it to ACCESS with the roles it admits"


def test_the_allow_lists_name_only_existing_routes() -> None:
    paths = {e.path for e in ENDPOINTS}
    assert sorted(set(PUBLIC) - paths) == []
    assert sorted(set(PUBLIC_IN) - {(e.app, e.path) for e in ENDPOINTS}) == []
    assert sorted(set(ACCESS) - {e.key for e in ENDPOINTS}) == []


@pytest.mark.parametrize(("endpoint", "defect"), _bad_token_cases())
def test_a_bad_token_is_401(clients: dict[str, TestClient], endpoint: Endpoint,
                            defect: str) -> None:
    client, call = clients[endpoint.app], call_for(endpoint)
    subject = f"route-security: {defect}"
    make = TOKEN_DEFECTS.get(defect) or MUNICIPALITY_DEFECTS[defect]
    response = send(client, call, make(claims(base_role(endpoint), subject)))
    assert_problem(response, 401)
    if defect == "wrong signature":
        assert "signature" in response.json()["detail"].lower()
    assert_nothing_written(client, call, subject)


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=str(e)) for e in PROTECTED])
def test_the_token_is_checked_before_the_parameters(clients: dict[str, TestClient],
                                                    endpoint: Endpoint) -> None:
    """Without a token, no 404 or 422 tells whether an id exists or a parameter is known."""
    url = re.sub(r"\{[^}]+\}", "-", endpoint.path)  # matches no id and no path pattern
    response = clients[endpoint.app].request(
        endpoint.method, url, params={"no-such-parameter": "1"}, content=b"\xff",
        headers={"Content-Type": "text/plain"})
    assert_problem(response, 401)


@pytest.mark.parametrize(("endpoint", "role"), _wrong_role_cases())
def test_a_wrong_role_is_403(clients: dict[str, TestClient], endpoint: Endpoint,
                             role: Role) -> None:
    client, call = clients[endpoint.app], call_for(endpoint)
    response = send(client, call, bearer(role_token(role)))
    assert_problem(response, 403)
    assert stored(client, call) == 0


@pytest.mark.parametrize("endpoint", SCOPED)
def test_a_municipality_not_in_the_token_is_403(clients: dict[str, TestClient],
                                                endpoint: Endpoint) -> None:
    client, call = clients[endpoint.app], call_for(endpoint)
    role = base_role(endpoint)
    assert role in MUNICIPAL_ROLES
    response = send(client, call, bearer(role_token(role, municipality=OTHER)))
    if ACCESS[endpoint.key].scope == "event.municipality":
        # A batch may mix municipalities: each event is refused on its own (the good ones
        # beside it are stored), so the 403 problem is the event's, in a 200.
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        assert (result["status"], result["problem"]["status"]) == ("rejected", 403)
        assert result["problem"]["type"] == PROBLEM_BASE + "forbidden"
        assert stored(client, call) == 0
        return
    assert_problem(response, 403)


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=str(e)) for e in PROTECTED])
def test_a_good_token_passes(clients: dict[str, TestClient], endpoint: Endpoint) -> None:
    """The control: with an admitted role and its own municipality the same request succeeds,
    so the refusals above are about the token, not the request."""
    client, call = clients[endpoint.app], call_for(endpoint)
    response = send(client, call, bearer(role_token(base_role(endpoint))))
    assert response.status_code == 200, response.text
    if isinstance(call.body, dict) and "event_id" in call.body:
        assert [r["status"] for r in response.json()["results"]] == ["accepted"]
        assert stored(client, call) == 1
