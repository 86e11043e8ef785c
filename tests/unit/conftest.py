"""Fixtures shared by unit test modules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.k8s_helpers import K8S, OVERLAYS, kustomize


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    """A deploy/k8s overlay's name and its kustomize-built objects (built once per module:
    a module may change its copy)."""
    return request.param, kustomize(K8S / "overlays" / request.param)
