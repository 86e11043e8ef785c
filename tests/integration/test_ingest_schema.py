"""Schemathesis against the ingest OpenAPI document (issue 7): generated requests, valid
and invalid, to every /v1 operation; no 500 and no response outside the documented schema.

Driven like tests/integration/test_gateway_schema.py (see its docstring for why hypothesis
runs schemathesis' strategies and the app's TestClient sends the cases).
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)

from kommunepuls.config import Settings
from services.ingest.app import create_app
from tests.integration.test_ingest import auth


@pytest.fixture
def ingest(settings: Settings, db: asyncpg.Pool) -> Iterator[TestClient]:
    unlimited = settings.model_copy(update={"ingest_rate_limit_per_s": 1e6,
                                            "ingest_rate_limit_burst": 1e6})
    with TestClient(create_app(unlimited, relay=False), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_ingest_api_conforms_to_its_schema(ingest: TestClient, jwt_secret: bytes,
                                           mode: GenerationMode) -> None:
    headers = auth(jwt_secret)
    schema = schemathesis.openapi.from_dict(ingest.app.openapi())  # type: ignore[attr-defined]
    operations = [result.ok() for result in
                  schema.include(path_regex=r"^/v1/").get_all_operations()]
    assert len(operations) >= 2

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            request = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
            for unused in ("verify", "cookies"):
                request.pop(unused, None)
            response = ingest.request(**request)
            assert response.status_code < 500, response.text
            # A well-formed request is answered 200 with a result per event, invalid events
            # `rejected` with their problem (the contract), so schema-invalid events
            # are not expected to fail the whole request: that check is left out.
            case.validate_response(response, headers=headers, excluded_checks=[
                ignored_auth, positive_data_acceptance, negative_data_rejection])

        try:
            check()
        except Unsatisfiable:
            # No invalid request exists for an operation without inputs (GET /v1/ingest-key).
            assert mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET"
