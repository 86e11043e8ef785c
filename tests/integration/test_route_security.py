"""Every route of both HTTP APIs against every kind of bad token: 401 or 403, as RFC 9457
problem JSON, before anything is read or written.

The routes come from the apps' own route tables, so a route added tomorrow is covered
without touching this file: it gets every bad-token case at once, and
`test_every_route_is_protected_or_public` fails until it is either in ACCESS (who may call
it) or in PUBLIC (why no token is needed). Path and required query parameters take the
examples of the OpenAPI document, so each request would succeed with a good token — which
`test_a_good_token_passes` proves, lest a route that refuses everyone pass as "secure".

One schema (empty but migrated) and one instance of each app for the whole module.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from starlette.routing import Mount

from kommunepuls.auth import ISSUER, Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import migrate
from kommunepuls.web.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE
from kommunepuls.web.security import current_principal
from services.gateway.app import create_app as create_gateway
from services.ingest.app import create_app as create_ingest
from tests.conftest import TEST_JWT_SECRET, make_settings

SECRET = TEST_JWT_SECRET.encode()
OWN, OTHER = "851", "101"  # the token's municipality, and one it does not have
MUNICIPAL_ROLES = frozenset({Role.fagsystem, Role.municipality})  # tokens carry kommunekoder

# Reachable without a token, each for a stated reason. Matched on the route's path, in
# both apps; PUBLIC_IN names a route that is public in one app only.
PUBLIC: dict[str, str] = {
    "/healthz": "liveness probe (kubelet, `kommunepuls up`); no data",
    "/readyz": "readiness probe; says only whether the database answers",
    "/openapi.json": "the API description; no data",
    "/docs": "Swagger UI over /openapi.json; no data",
    "/docs/oauth2-redirect": "Swagger UI's OAuth helper page; no data",
    "/redoc": "ReDoc over /openapi.json; no data",
    "/": "the status page's HTML shell; it calls the API with the user's token",
    "/static": "the status page's CSS and JavaScript",
    "/v1/ingest-key": "the Kafka ingress's public key: fagsystems seal CPRs to it before "
                      "they hold a session; public by design",
}
PUBLIC_IN: dict[tuple[str, str], str] = {
    ("ingest", "/metrics"): "Prometheus scrapes it without credentials "
                            "(deploy/prometheus/prometheus.yml): request and event counters, "
                            "no indicator figures (the gateway's /metrics needs ops)",
}


@dataclass(frozen=True)
class Access:
    """Who may call a route; `scope` names the parameter carrying the municipality that
    must be in a municipality token (None: the route is not municipality-scoped)."""

    roles: frozenset[Role]
    scope: str | None = None


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


READERS = _roles(Role.municipality, Role.national)
# (app, method, path) -> who may call it. The worklist and the overdue list show citizens,
# so only the municipality's own staff; `event.municipality` is checked per event.
ACCESS: dict[tuple[str, str, str], Access] = {
    ("gateway", "GET", "/v1/status"): Access(_roles(Role.ops, Role.national)),
    # Indicator figures: Prometheus scrapes with an ops token (deploy/prometheus).
    ("gateway", "GET", "/metrics"): Access(_roles(Role.ops, Role.national)),
    ("gateway", "GET", "/v1/indicators"): Access(READERS),
    ("gateway", "GET", "/v1/indicators/{indicator_id}"): Access(READERS),
    ("gateway", "GET", "/v1/indicators/{indicator_id}/values"): Access(READERS),
    ("gateway", "GET", "/v1/indicators/{indicator_id}/series"): Access(READERS),
    ("gateway", "GET", "/v1/indicators/{indicator_id}/ranking"): Access(READERS),
    ("gateway", "GET", "/v1/indicators/{indicator_id}/revisions"):
        Access(READERS, scope="municipality"),
    ("gateway", "GET", "/v1/municipalities/{code}/worklist"):
        Access(_roles(Role.municipality), scope="code"),
    ("gateway", "GET", "/v1/worklist-access"): Access(_roles(Role.national)),
    ("gateway", "GET", "/v1/experiments"): Access(READERS),
    ("gateway", "GET", "/v1/experiments/{experiment_id}"): Access(READERS),
    ("gateway", "GET", "/v1/experiments/{experiment_id}/followup"): Access(READERS),
    ("gateway", "GET", "/v1/experiments/{experiment_id}/comparison"): Access(READERS),
    ("gateway", "GET", "/v1/experiments/{experiment_id}/overdue"):
        Access(_roles(Role.municipality), scope="municipality"),
    ("ingest", "POST", "/v1/events"): Access(_roles(Role.fagsystem), scope="event.municipality"),
}


# --- the route tables, read at collection --------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    app: str
    method: str
    path: str
    protected: bool  # a token is verified (current_principal is among its dependencies)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.app, self.method, self.path

    @property
    def public(self) -> bool:
        return self.path in PUBLIC or (self.app, self.path) in PUBLIC_IN

    def __str__(self) -> str:
        return f"{self.app} {self.method} {self.path}"


def _calls(dependant: Any) -> Iterator[Any]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def endpoints(name: str, app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app answers, included routers and mounts too."""
    out = []
    for route in iter_route_contexts(app.routes):
        path = route.path
        if isinstance(route.original_route, Mount):
            out.append(Endpoint(name, "GET", path, protected=False))
            continue
        dependant = getattr(route, "dependant", None)
        protected = dependant is not None and current_principal in set(_calls(dependant))
        # HEAD is GET without a body: the same handler, the same check.
        for method in sorted((route.methods or set()) - {"HEAD"}):
            out.append(Endpoint(name, method, path, protected))
    return out


def _route_table_apps() -> dict[str, FastAPI]:
    # Built only to read routes and OpenAPI: never started, so no database is needed.
    settings = make_settings(Path(tempfile.gettempdir()) / "kommunepuls-route-table")
    return {"gateway": create_gateway(settings), "ingest": create_ingest(settings, relay=False)}


_APPS = _route_table_apps()
SPECS = {name: app.openapi() for name, app in _APPS.items()}
ENDPOINTS = [e for name, app in _APPS.items() for e in endpoints(name, app)]
PROTECTED = [e for e in ENDPOINTS if e.protected]
del _APPS


# --- requests with valid parameters --------------------------------------------------------

@dataclass(frozen=True)
class Call:
    method: str
    url: str
    params: dict[str, str]
    body: Any  # JSON, or None


# Optional parameters a route needs to answer 200 with its examples: the example experiment's
# seeds name no comparison municipalities.
EXTRA_PARAMS: dict[tuple[str, str, str], dict[str, str]] = {
    ("gateway", "GET", "/v1/experiments/{experiment_id}/comparison"): {"comparison": OTHER},
}


def _example(parameter: dict[str, Any]) -> str:
    schema = parameter.get("schema", {})
    for examples in (parameter.get("examples"), schema.get("examples")):
        if isinstance(examples, list) and examples:
            return str(examples[0])
        if isinstance(examples, dict) and examples:
            return str(next(iter(examples.values()))["value"])
    if "example" in parameter:
        return str(parameter["example"])
    raise AssertionError(f"parameter {parameter['name']!r} has no example in the OpenAPI "
                         "document: give it one, so this test can call the route")


def call_for(endpoint: Endpoint) -> Call:
    """The endpoint with its required parameters set to the OpenAPI examples, the scoped
    municipality to OWN and a fresh event_id in a body that carries one."""
    operation = SPECS[endpoint.app]["paths"].get(endpoint.path, {}).get(endpoint.method.lower())
    assert operation is not None, f"{endpoint} is not in the OpenAPI document"
    scope = ACCESS[endpoint.key].scope if endpoint.key in ACCESS else None
    url, params = endpoint.path, dict(EXTRA_PARAMS.get(endpoint.key, {}))
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if not parameter.get("required") and name != scope:
            continue
        value = OWN if name == scope else _example(parameter)
        if parameter["in"] == "path":
            url = url.replace("{" + name + "}", value)
        elif parameter["in"] == "query":
            params[name] = value
    body = None
    if "requestBody" in operation:
        content = operation["requestBody"]["content"]["application/json"]
        body = copy.deepcopy(next(iter(content["examples"].values()))["value"]
                             if "examples" in content else content["example"])
        if isinstance(body, dict) and "event_id" in body:
            # Each case its own id, so "was it stored?" is asked of this request alone.
            body["event_id"] = str(uuid.uuid4())
    return Call(endpoint.method, url, params, body)


def send(client: TestClient, call: Call, headers: dict[str, str]) -> Response:
    return client.request(call.method, call.url, params=call.params, json=call.body,
                          headers=headers)


# --- tokens --------------------------------------------------------------------------------

def base_role(endpoint: Endpoint) -> Role:
    """A role the route admits, preferring one that must carry municipalities, so that a
    defect in that claim is tried where it matters."""
    roles = ACCESS[endpoint.key].roles if endpoint.key in ACCESS else _roles(Role.national)
    return sorted(roles, key=lambda r: (r not in MUNICIPAL_ROLES, r.value))[0]


def claims(role: Role, subject: str) -> dict[str, Any]:
    now = int(time.time())
    out: dict[str, Any] = {"sub": subject, "role": role.value, "iss": ISSUER,
                           "iat": now, "exp": now + 300}
    if role in MUNICIPAL_ROLES:
        out["municipalities"] = [OWN]
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(payload: dict[str, Any], key: bytes = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def without(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != name}


def tampered(payload: dict[str, Any]) -> str:
    # A genuine signature over the original claims, with the claims swapped for national.
    header, _, signature = signed(payload).split(".")
    body = json.dumps(payload | {"role": Role.national.value}).encode()
    return ".".join([header, base64.urlsafe_b64encode(body).rstrip(b"=").decode(), signature])


def _shifted(payload: dict[str, Any], **offsets: int) -> dict[str, Any]:
    now = int(time.time())
    return payload | {name: now + offset for name, offset in offsets.items()}


Defect = Callable[[dict[str, Any]], dict[str, str]]
# Each turns the claims of an otherwise good token into the request's headers: all 401.
TOKEN_DEFECTS: dict[str, Defect] = {
    "no token": lambda c: {},
    "basic scheme": lambda c: {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()},
    "empty bearer": lambda c: {"Authorization": "Bearer "},
    "malformed": lambda c: bearer("not-a-jwt"),
    "expired": lambda c: bearer(signed(_shifted(c, iat=-3600, exp=-60))),
    "not yet valid": lambda c: bearer(signed(_shifted(c, nbf=3600))),
    "wrong signature": lambda c: bearer(signed(c, b"not-the-platform-secret" * 2)),
    "tampered claims": lambda c: bearer(tampered(c)),
    "alg none": lambda c: bearer(jwt.encode(c, None, algorithm="none")),  # type: ignore[arg-type]
    "alg HS384": lambda c: bearer(signed(c, algorithm="HS384")),
    "wrong issuer": lambda c: bearer(signed(c | {"iss": "someone-else"})),
    "unknown role": lambda c: bearer(signed(c | {"role": "admin"})),
    "missing sub": lambda c: bearer(signed(without(c, "sub"))),
    "missing role": lambda c: bearer(signed(without(c, "role"))),
    "missing exp": lambda c: bearer(signed(without(c, "exp"))),
    "missing iat": lambda c: bearer(signed(without(c, "iat"))),
    "missing iss": lambda c: bearer(signed(without(c, "iss"))),
    "municipalities not a list": lambda c: bearer(signed(c | {"municipalities": OWN})),
}
# Only where the token's role must carry municipalities.
MUNICIPALITY_DEFECTS: dict[str, Defect] = {
    "missing municipalities": lambda c: bearer(signed(without(c, "municipalities"))),
    "empty municipalities": lambda c: bearer(signed(c | {"municipalities": []})),
}


def role_token(role: Role, municipality: str = OWN, subject: str = "route-security") -> str:
    scoped = [municipality] if role in MUNICIPAL_ROLES else []
    return issue_token(SECRET, subject=subject, role=role, municipalities=scoped)


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
