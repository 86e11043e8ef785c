"""/v1/status for the roles that may read it; health, readiness and metrics on both APIs.

Bad tokens, wrong roles and foreign municipalities on every route: test_route_security.py."""

from collections.abc import Iterator

import asyncpg
import pytest
from fastapi.testclient import TestClient

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from services.gateway.app import create_app as create_gateway
from services.ingest.app import create_app as create_ingest


@pytest.fixture
def gateway(settings: Settings, db: asyncpg.Pool) -> Iterator[TestClient]:
    with TestClient(create_gateway(settings)) as client:
        yield client


def bearer(secret: bytes, role: Role, municipalities: list[str] | None = None) -> dict[str, str]:
    token = issue_token(secret, subject="t", role=role, municipalities=municipalities or [])
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("role", [Role.ops, Role.national])
def test_status_for_ops_and_national(gateway: TestClient, jwt_secret: bytes, role: Role) -> None:
    response = gateway.get("/v1/status", headers=bearer(jwt_secret, role))
    assert response.status_code == 200
    assert response.json()["store"] == {"position": 0, "newest_recorded_at": None}


def test_health_readiness_and_metrics_on_both_http_services(settings: Settings,
                                                            db: asyncpg.Pool,
                                                            jwt_secret: bytes) -> None:
    # The gateway's /metrics (indicator figures) needs ops or national; ingest's is open.
    for factory, headers in ((create_gateway, bearer(jwt_secret, Role.ops)),
                             (create_ingest, {})):
        with TestClient(factory(settings)) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").json()["status"] == "ready"
            client.get("/nowhere")
            metrics = client.get("/metrics", headers=headers).text
            assert "kommunepuls_http_request_duration_seconds_bucket" in metrics
            assert 'route="unmatched"' in metrics and "/nowhere" not in metrics
            unknown = client.get("/nowhere")
            assert unknown.status_code == 404
            assert unknown.headers["content-type"] == "application/problem+json"
