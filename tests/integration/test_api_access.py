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


def test_status_and_metrics_tell_when_the_audit_last_passed(gateway: TestClient,
                                                             jwt_secret: bytes) -> None:
    ops = bearer(jwt_secret, Role.ops)
    assert gateway.get("/v1/status", headers=ops).json()["audit"] is None
    assert "kommunepuls_audit" not in gateway.get("/metrics", headers=ops).text.replace(
        "# HELP kommunepuls_audit", "").replace("# TYPE kommunepuls_audit", "")

    def run(sql: str) -> None:  # on the app's own pool, in the app's event loop
        gateway.portal.call(gateway.app.state.pool.execute, sql)  # type: ignore[attr-defined]

    # A run that passed, then one that found 2 stuck citizens.
    run("INSERT INTO audit_runs (finished_at, passed, citizens, settled, in_flight, stuck, "
        "wrong, inconsistent) VALUES ('2026-11-27 03:31:00+00', true, 10, 9, 1, 0, 0, 0), "
        "('2026-11-28 03:31:00+00', false, 12, 9, 1, 2, 0, 0)")
    audit = gateway.get("/v1/status", headers=ops).json()["audit"]
    assert audit == {"finished_at": "2026-11-28T03:31:00Z", "passed": False,
                     "last_passed_at": "2026-11-27T03:31:00Z", "citizens": 12, "settled": 9,
                     "in_flight": 1, "stuck": 2, "wrong": 0, "inconsistent": 0}
    text = gateway.get("/metrics", headers=ops).text
    assert "kommunepuls_audit_last_run_passed 0.0" in text
    # 2026-11-27 03:31 UTC as Unix time
    assert "kommunepuls_audit_last_passed_timestamp_seconds 1.79575026e+09" in text


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
