"""Bad or missing tokens get 401, wrong roles 403, as RFC 9457 problem JSON."""

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


def test_status_without_token_is_401_problem(gateway: TestClient) -> None:
    response = gateway.get("/v1/status")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401 and body["type"].endswith("/unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_status_with_a_forged_token_is_401(gateway: TestClient) -> None:
    headers = bearer(b"not-the-secret" * 4, Role.ops)
    response = gateway.get("/v1/status", headers=headers)
    assert response.status_code == 401
    assert "signature" in response.json()["detail"].lower()


@pytest.mark.parametrize("role", [Role.fagsystem, Role.municipality])
def test_status_with_a_wrong_role_is_403(gateway: TestClient, jwt_secret: bytes,
                                         role: Role) -> None:
    response = gateway.get("/v1/status", headers=bearer(jwt_secret, role, ["851"]))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Access denied"


@pytest.mark.parametrize("role", [Role.ops, Role.national])
def test_status_for_ops_and_national(gateway: TestClient, jwt_secret: bytes, role: Role) -> None:
    response = gateway.get("/v1/status", headers=bearer(jwt_secret, role))
    assert response.status_code == 200
    assert response.json()["store"] == {"position": 0, "newest_recorded_at": None}


def test_health_readiness_and_metrics_on_both_http_services(settings: Settings,
                                                            db: asyncpg.Pool) -> None:
    for factory in (create_gateway, create_ingest):
        with TestClient(factory(settings)) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").json()["status"] == "ready"
            client.get("/nowhere")
            metrics = client.get("/metrics").text
            assert "kommunepuls_http_request_duration_seconds_bucket" in metrics
            assert 'route="unmatched"' in metrics and "/nowhere" not in metrics
            unknown = client.get("/nowhere")
            assert unknown.status_code == 404
            assert unknown.headers["content-type"] == "application/problem+json"
