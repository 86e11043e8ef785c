"""The two HTTP APIs' route tables and who may call each route, for the route-security
tests: every (method, path) read from the apps themselves, the PUBLIC and ACCESS lists
that classify them, and a request with valid parameters for each.

The routes come from the apps' own route tables, so a route added tomorrow is covered
without touching this file; path and required query parameters take the examples of the
OpenAPI document.
"""

from __future__ import annotations

import copy
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from starlette.routing import Mount

from kommunepuls.auth import Role
from kommunepuls.web.security import current_principal
from services.gateway.app import create_app as create_gateway
from services.ingest.app import create_app as create_ingest
from tests.conftest import make_settings

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
