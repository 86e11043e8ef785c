"""Building deploy/k8s with kustomize, and reading the built objects (shared by the
k8s test modules)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy_helpers import REPO_ROOT

K8S = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SERVICES = ("ingest", "gateway", "cohorts", "metrics")
HTTP_SERVICES = ("ingest", "gateway")
WORKERS = ("cohorts", "metrics")
SECRET_NAME = "kommunepuls-secrets"
SECRET_ENV = {
    "DATABASE_URL": "database-url",
    "KOMMUNEPULS_PSEUDONYM_KEY": "pseudonym-key",
    "KOMMUNEPULS_JWT_SECRET": "jwt-secret",
}
# Only ingest opens sealed CPRs: only it gets the ingress private key.
INGEST_SECRET_ENV = SECRET_ENV | {"KOMMUNEPULS_INGRESS_PRIVATE_KEY": "ingress-private-key"}
HEALTH_PATHS = {"/healthz", "/readyz"}
# Services whose /metrics needs a bearer token (role ops), and the Secret that holds it.
TOKEN_SCRAPED = ("gateway",)
SCRAPE_TOKEN_SECRET = ("kommunepuls-scrape-token", "token")
# Kinds defined by CRDs: kubernetes-validate has no schema for them; checked loosely below.
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
# Egress the pods may have: DNS, PostgreSQL, Kafka (plain and TLS).
ALLOWED_EGRESS_PORTS = {53, 5432, 9092, 9093}


def kustomize_command() -> list[str]:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    pytest.skip("neither kubectl (with its built-in kustomize) nor kustomize is installed")


def kustomize(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run([*kustomize_command(), str(directory)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, f"kustomize build {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def config_map_data(objects: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [o for o in objects if o["kind"] == "ConfigMap"
                 and o["metadata"]["name"].startswith("kommunepuls-config")]
    return config["data"]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector matches the labels (matchLabels and matchExpressions)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        present = key in labels
        if ((operator == "In" and labels.get(key) not in values)
                or (operator == "NotIn" and labels.get(key) in values)
                or (operator == "Exists" and not present)
                or (operator == "DoesNotExist" and present)):
            return False
    return True
