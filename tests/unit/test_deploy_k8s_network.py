"""deploy/k8s: network policies (default deny, who may reach whom, egress) and the optional
ServiceMonitor component, checked on the kustomize-built objects."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from tests.unit.deploy_helpers import REPO_ROOT
from tests.unit.k8s_helpers import (
    ALLOWED_EGRESS_PORTS,
    CUSTOM_KINDS,
    HTTP_SERVICES,
    K8S,
    SCRAPE_TOKEN_SECRET,
    SERVICES,
    TOKEN_SCRAPED,
    kustomize,
    of_kind,
    selects,
)

# --- network policies ----------------------------------------------------------------------

def pod_labels(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    labels = {}
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            component = obj["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
            labels[component] = obj["spec"]["template"]["metadata"]["labels"]
    return labels


def policies_for(objects: list[dict[str, Any]], labels: dict[str, str], kind: str) -> list[Any]:
    return [p["spec"] for p in of_kind(objects, "NetworkPolicy").values()
            if selects(p["spec"]["podSelector"], labels) and kind in p["spec"]["policyTypes"]]


def test_every_pod_is_under_a_default_deny_policy(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    for component, labels in pod_labels(objects).items():
        for kind in ("Ingress", "Egress"):
            assert policies_for(objects, labels, kind), f"{component}: no {kind} policy"


def test_only_gateway_and_ingest_are_reachable_from_anywhere(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    for component, labels in pod_labels(objects).items():
        specs = policies_for(objects, labels, "Ingress")
        rules = [rule for spec in specs for rule in spec.get("ingress", [])]
        open_rules = [r for r in rules if not r.get("from")]
        if component in HTTP_SERVICES:
            assert open_rules, f"{component} must be reachable"
            assert all(p["port"] == "http" for r in open_rules for p in r["ports"]), component
        else:
            assert not open_rules, f"{component} must not be reachable from anywhere"


def test_egress_is_only_dns_postgres_and_kafka(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for component, labels in pod_labels(objects).items():
        specs = policies_for(objects, labels, "Egress")
        rules = [rule for spec in specs for rule in spec.get("egress", [])]
        ports = set()
        for rule in rules:
            assert rule.get("ports"), f"{component}: an egress rule without ports allows all"
            ports |= {p["port"] for p in rule["ports"]}
        assert ports <= ALLOWED_EGRESS_PORTS, component
        assert {53, 5432} <= ports and ports & {9092, 9093}, component


# --- the optional ServiceMonitor component -------------------------------------------------

def test_servicemonitor_component_builds_on_prod_and_selects_every_service(
    tmp_path: Path,
) -> None:
    # A throwaway overlay: prod plus the component (kustomize wants relative paths).
    component = K8S / "components" / "servicemonitor"
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "kommunepuls",
        "resources": [os.path.relpath(K8S / "overlays" / "prod", tmp_path)],
        "components": [os.path.relpath(component, tmp_path)],
    }))
    objects = kustomize(tmp_path)
    monitors = [o for o in objects if o["kind"] == "ServiceMonitor"]
    assert monitors
    for monitor in monitors:
        # Loose check of the CRD object (no schema for it here): the fields the operator needs.
        assert (monitor["apiVersion"], monitor["kind"]) in CUSTOM_KINDS
        assert monitor["metadata"]["namespace"] == "kommunepuls"
        endpoints = monitor["spec"]["endpoints"]
        assert endpoints and all(e["path"] == "/metrics" and e["port"] for e in endpoints)
    services = of_kind(objects, "Service")
    assert set(services) == {f"kommunepuls-{s}" for s in SERVICES}
    for name, service in services.items():
        # Exactly one monitor per Service, or its target is scraped twice.
        (monitor,) = [m for m in monitors
                      if selects(m["spec"]["selector"], service["metadata"]["labels"])]
        endpoints = monitor["spec"]["endpoints"]
        assert {e["port"] for e in endpoints} <= {p["name"] for p in service["spec"]["ports"]}, name
        # The gateway's /metrics needs the scrape token, from a Secret; the others get none.
        tokens = {(e["authorization"]["type"], e["authorization"]["credentials"]["name"],
                   e["authorization"]["credentials"]["key"]) if "authorization" in e else None
                  for e in endpoints}
        if name.removeprefix("kommunepuls-") in TOKEN_SCRAPED:
            assert tokens == {("Bearer", *SCRAPE_TOKEN_SECRET)}, name
        else:
            assert tokens == {None}, name
        assert not {"bearerTokenSecret", "bearerTokenFile", "basicAuth"} & {
            k for e in endpoints for k in e}, f"{name}: authorization is the one way"
    # The Secret is referenced, never shipped: it is made by hand, as docs/OPERATE.md says.
    assert not any(o["kind"] == "Secret" for o in objects)
    operate = (REPO_ROOT / "docs" / "OPERATE.md").read_text()
    assert f"kubectl create secret generic {SCRAPE_TOKEN_SECRET[0]}" in operate
    assert f"--from-literal={SCRAPE_TOKEN_SECRET[1]}=" in operate
    assert not any(o["kind"] == "ServiceMonitor" for o in kustomize(K8S / "overlays" / "prod")), (
        "the ServiceMonitor is optional: the plain overlays must not need the CRD")
