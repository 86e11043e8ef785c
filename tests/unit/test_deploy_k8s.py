"""deploy/k8s: each overlay builds with kustomize and every object validates against the
Kubernetes schemas of the newest version kubernetes-validate knows (strict: unknown
fields fail), then the rules ops rely on are checked on the built objects."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.unit.deploy_helpers import (
    FAKE_SECRETS,
    assert_cli_accepts,
    settings_from_env,
    unknown_app_env,
)
from tests.unit.k8s_helpers import (
    CUSTOM_KINDS,
    HEALTH_PATHS,
    HTTP_SERVICES,
    INGEST_SECRET_ENV,
    K8S,
    SECRET_ENV,
    SECRET_NAME,
    SERVICES,
    TOKEN_SCRAPED,
    WORKERS,
    config_map_data,
    of_kind,
    pod_specs,
    selects,
)


@pytest.fixture(scope="module")
def kubernetes_version() -> str:
    version = kubernetes_validate.latest_version()
    major, minor = (int(part) for part in version.split(".")[:2])
    assert (major, minor) >= (1, 33), f"kubernetes-validate only knows {version}: upgrade it"
    return version


# --- build and schema ----------------------------------------------------------------------

def test_overlay_builds_and_every_object_validates(
    overlay: tuple[str, list[dict[str, Any]]], kubernetes_version: str
) -> None:
    name, objects = overlay
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget",
            "HorizontalPodAutoscaler", "NetworkPolicy", "Job"} <= kinds
    errors = []
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert not errors, f"overlay {name}, Kubernetes {kubernetes_version}:\n" + "\n".join(errors)


def test_the_strict_schema_rejects_an_unknown_field(
    overlay: tuple[str, list[dict[str, Any]]], kubernetes_version: str
) -> None:
    # Guards the test above: a misspelt probe must not pass as valid.
    _, objects = overlay
    deployment = copy.deepcopy(next(iter(of_kind(objects, "Deployment").values())))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_version, strict=True)


def test_every_object_is_in_the_overlay_namespace(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    namespace = of_kind(objects, "Namespace")
    assert len(namespace) == 1
    (ns,) = namespace
    for obj in objects:
        if obj["kind"] != "Namespace":
            where = f"{obj['kind']}/{obj['metadata']['name']}"
            assert obj["metadata"].get("namespace") == ns, where


# --- workloads -----------------------------------------------------------------------------

def test_there_is_one_deployment_per_service_running_its_command(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == {f"kommunepuls-{s}" for s in SERVICES}
    for service in SERVICES:
        spec = deployments[f"kommunepuls-{service}"]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["args"] == ["serve", service]
        assert_cli_accepts(container["args"])
    (job,) = of_kind(objects, "Job").values()
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]
    assert_cli_accepts(container["args"])


def test_every_deployment_has_probes_on_the_health_endpoints(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    for name, deployment in of_kind(objects, "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                check = container.get(probe, {}).get("httpGet")
                assert check, f"{name}: no HTTP {probe}"
                assert check["path"] in HEALTH_PATHS, f"{name}.{probe}: {check['path']}"
                assert check["port"] in ports or check["port"] in ports.values(), name
            readiness = container["readinessProbe"]["httpGet"]["path"]
            is_http = name.removeprefix("kommunepuls-") in HTTP_SERVICES
            assert readiness == ("/readyz" if is_http else "/healthz"), name
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name


def test_every_container_has_requests_and_limits(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    for name, spec in pod_specs(objects):
        for container in spec["containers"]:
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{name}: {kind}"


def test_every_pod_runs_as_non_root_on_a_read_only_filesystem(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    for name, spec in pod_specs(objects):
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, name
        assert pod.get("runAsUser", 0) > 0, name
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        # Service links would set KOMMUNEPULS_INGEST_PORT=tcp://..., which Settings reads.
        assert spec.get("enableServiceLinks") is False, name
        for container in spec["containers"]:
            security = container.get("securityContext", {})
            assert security.get("readOnlyRootFilesystem") is True, name
            assert security.get("allowPrivilegeEscalation") is False, name
            assert security.get("capabilities", {}).get("drop") == ["ALL"], name
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert {"/tmp", "/var/lib/kommunepuls"} <= mounts, f"{name}: writable dirs"


def test_prometheus_scrape_annotations_name_the_container_port(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    for name, deployment in of_kind(objects, "Deployment").items():
        template = deployment["spec"]["template"]
        annotations = template["metadata"].get("annotations", {})
        # A generic annotation job sends no token: the gateway's /metrics would answer 401.
        wanted = "false" if name.removeprefix("kommunepuls-") in TOKEN_SCRAPED else "true"
        assert annotations.get("prometheus.io/scrape") == wanted, name
        assert annotations.get("prometheus.io/path") == "/metrics", name
        ports = {p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
        assert int(annotations["prometheus.io/port"]) in ports, name


# --- configuration and secrets -------------------------------------------------------------

def test_config_map_variables_exist_in_settings(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    data = config_map_data(objects)
    assert not unknown_app_env(list(data))


def test_config_map_and_secrets_build_valid_settings(
    overlay: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, objects = overlay
    env = {**config_map_data(objects), **FAKE_SECRETS,
           "DATABASE_URL": "postgresql://kommunepuls:pw@db:5432/kommunepuls"}
    settings = settings_from_env(env, monkeypatch)
    assert settings.profile == "production"
    assert settings.ingest_host == settings.gateway_host == settings.worker_host == "0.0.0.0"
    ports = {settings.ingest_port, settings.gateway_port,
             settings.cohorts_web_port, settings.metrics_web_port}
    containers = [c for _, spec in pod_specs(objects) for c in spec["containers"]]
    assert ports == {p["containerPort"] for c in containers for p in c.get("ports", [])}


def test_secrets_are_referenced_never_stored(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for obj in objects:
        if obj["kind"] == "Secret":
            assert not obj.get("data") and not obj.get("stringData"), obj["metadata"]["name"]
    for name, spec in pod_specs(objects):
        for container in spec["containers"]:
            refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container.get("env", [])
                    if "secretKeyRef" in e.get("valueFrom", {})}
            wanted = INGEST_SECRET_ENV if name.endswith("ingest") else SECRET_ENV
            assert {k: (r["name"], r["key"]) for k, r in refs.items()} == {
                k: (SECRET_NAME, key) for k, key in wanted.items()}, name
            literal = {e["name"] for e in container.get("env", []) if "value" in e}
            assert not literal & set(INGEST_SECRET_ENV), f"{name}: a secret as a literal value"
            config_refs = [e["configMapRef"]["name"] for e in container.get("envFrom", [])]
            assert any(n.startswith("kommunepuls-config") for n in config_refs), name
    assert not set(SECRET_ENV) & set(config_map_data(objects)), "secrets in the ConfigMap"


def test_no_secret_with_data_is_committed() -> None:
    for path in sorted(K8S.rglob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                assert not doc.get("data") and not doc.get("stringData"), path
            if isinstance(doc, dict) and doc.get("kind") == "Kustomization":
                assert not doc.get("secretGenerator"), f"{path}: secretGenerator puts values in git"


# --- scaling, disruption, services ---------------------------------------------------------

def test_workers_have_no_more_replicas_than_partitions(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    partitions = int(config_map_data(objects)["KOMMUNEPULS_KAFKA_PARTITIONS"])
    deployments = of_kind(objects, "Deployment")
    for worker in WORKERS:
        replicas = deployments[f"kommunepuls-{worker}"]["spec"]["replicas"]
        assert 1 <= replicas <= partitions, f"{worker}: {replicas} > {partitions} partitions"


def test_http_services_autoscale_and_leave_replicas_to_the_autoscaler(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    deployments = of_kind(objects, "Deployment")
    targets = {a["spec"]["scaleTargetRef"]["name"] for a in autoscalers.values()}
    assert targets == {f"kommunepuls-{s}" for s in HTTP_SERVICES}
    for autoscaler in autoscalers.values():
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        assert autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
    for target in targets:
        # A fixed spec.replicas would be reset on every `kubectl apply`, fighting the HPA.
        assert "replicas" not in deployments[target]["spec"], target


def test_every_deployment_has_a_disruption_budget_and_a_service(
    overlay: tuple[str, list[dict[str, Any]]]
) -> None:
    _, objects = overlay
    budgets = of_kind(objects, "PodDisruptionBudget").values()
    services = of_kind(objects, "Service").values()
    for name, deployment in of_kind(objects, "Deployment").items():
        template = deployment["spec"]["template"]
        labels = template["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"], labels), name
        assert sum(selects(b["spec"]["selector"], labels) for b in budgets) == 1, name
        matching = [s for s in services if selects({"matchLabels": s["spec"]["selector"]}, labels)]
        assert len(matching) == 1, name
        port_names = {p["name"] for c in template["spec"]["containers"] for p in c["ports"]}
        for port in matching[0]["spec"]["ports"]:
            assert port["name"] == "http" and port["targetPort"] in port_names, name


def test_prod_pins_a_release_image(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    name, objects = overlay
    images = {c["image"] for _, spec in pod_specs(objects) for c in spec["containers"]}
    assert len(images) == 1, "one image for every service"
    if name == "prod":
        (image,) = images
        assert "/" in image and not image.endswith((":latest", ":dev")), image
