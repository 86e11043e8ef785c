"""docker-compose.yml, checked without Docker (the Dockerfile and the container healthcheck:
test_deploy_dockerfile.py, test_deploy_healthcheck.py).

No Docker engine runs here, so the compose file is validated against the Compose
Specification's JSON Schema (tests/data/compose-spec.json, see compose-spec.md) after the same
variable interpolation Compose does, and its commands and variables against the code.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from tests.unit.container_helpers import (
    APP_SERVICES,
    COMPOSE_FILE,
    COMPOSE_SCHEMA,
    HTTP_SERVICES,
    ONE_SHOTS,
    PORT_VARIABLES,
    PROMETHEUS_CONFIG,
    REQUIRED_SECRETS,
    TEST_ENV,
    InterpolationError,
    dockerfile_instructions,
    interpolate,
)
from tests.unit.deploy_helpers import (
    REPO_ROOT,
    assert_cli_accepts,
    settings_from_env,
    unknown_app_env,
)

# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    # safe_load resolves the YAML anchors and `<<` merge keys, as Compose does.
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any]) -> dict[str, Any]:
    return interpolate(raw_compose, TEST_ENV)


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    return json.loads(COMPOSE_SCHEMA.read_text())


def app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services that run the Kommunepuls image (they are built from this repository)."""
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


# --- the compose file ----------------------------------------------------------------------

def test_compose_file_validates_against_the_compose_specification(
    raw_compose: dict[str, Any], compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    validator_class = jsonschema.validators.validator_for(compose_schema)
    validator_class.check_schema(compose_schema)
    validator = validator_class(compose_schema)
    for document in (raw_compose, compose):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_schema_rejects_a_broken_compose_file(
    compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    # Guards the test above: the vendored schema really is strict about unknown keys.
    broken = {**compose, "services": {**compose["services"], "gateway": {
        **compose["services"]["gateway"], "helthcheck": {"test": ["CMD", "true"]}}}}
    validator = jsonschema.validators.validator_for(compose_schema)(compose_schema)
    assert not validator.is_valid(broken)


def test_compose_runs_the_platform_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "postgres", *ONE_SHOTS, *APP_SERVICES, "prometheus", "grafana"} <= set(
        services)
    assert set(app_services(compose)) == {*ONE_SHOTS, *APP_SERVICES}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["postgres"]["image"].startswith("postgres:17")


def test_kafka_runs_in_kraft_mode(compose: dict[str, Any]) -> None:
    env = environment(compose["services"]["kafka"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node_id = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node_id}@kafka:")
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "ZOOKEEPER" not in " ".join(env).upper()
    # The app's bootstrap address is an advertised listener of the broker.
    for name, svc in app_services(compose).items():
        assert environment(svc)["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name


@pytest.mark.parametrize("service", [*ONE_SHOTS, *APP_SERVICES])
def test_every_app_service_command_is_a_real_cli_command(
    compose: dict[str, Any], service: str
) -> None:
    command = compose["services"][service]["command"]
    if isinstance(command, str):
        command = shlex.split(command)
    assert_cli_accepts(command)
    assert command == ONE_SHOTS.get(service, ["serve", service])


def test_app_environment_variables_exist_in_settings(compose: dict[str, Any]) -> None:
    for name, svc in app_services(compose).items():
        assert not unknown_app_env(list(environment(svc))), f"{name} sets unknown variables"


@pytest.mark.parametrize("service", [*ONE_SHOTS, *APP_SERVICES])
def test_app_environment_builds_valid_settings(
    compose: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from_env(environment(compose["services"][service]), monkeypatch)
    assert settings.profile == "production"
    assert settings.ingest_host == settings.gateway_host == settings.worker_host == "0.0.0.0"
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert "@postgres:5432/" in settings.database_url


@pytest.mark.parametrize("secret", REQUIRED_SECRETS)
def test_compose_refuses_to_start_without_each_secret(
    raw_compose: dict[str, Any], secret: str
) -> None:
    env = {name: value for name, value in TEST_ENV.items() if name != secret}
    with pytest.raises(InterpolationError, match=secret):
        interpolate(raw_compose, env)
    with pytest.raises(InterpolationError, match=secret):
        interpolate(raw_compose, {**env, secret: ""})


def test_no_secret_value_is_written_in_the_compose_file(raw_compose: dict[str, Any]) -> None:
    for name, svc in raw_compose["services"].items():
        for key, value in environment(svc).items():
            if re.search(r"PASSWORD|SECRET|_KEY$", key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), f"{name}.{key} = {value!r}"
        url = environment(svc).get("DATABASE_URL")
        if url:
            assert ":${POSTGRES_PASSWORD:?" in url, f"{name}: password not from the environment"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if name in ONE_SHOTS:
            assert svc["restart"] == "no"
            continue
        check = svc.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_healthchecks_ask_the_service_on_its_own_port(
    compose: dict[str, Any], service: str
) -> None:
    svc = compose["services"][service]
    test = svc["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], "stdlib urllib: the slim image has no curl"
    url = urlsplit(re.search(r"http://[^'\"]+", test[3])[0])  # type: ignore[index]
    assert url.hostname == "127.0.0.1"
    assert str(url.port) == environment(svc)[PORT_VARIABLES[service]]
    assert url.path == ("/readyz" if service in HTTP_SERVICES else "/healthz")


def test_start_order_is_postgres_then_migrate_then_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["kafka"]["condition"] == "service_healthy", name


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """target -> (source, options) of a service's short-syntax volumes."""
    out = {}
    for volume in service.get("volumes", []):
        source, target, *options = volume.split(":")
        out[target] = (source, options[0] if options else "rw")
    return out


def test_prometheus_scrapes_the_gateway_with_the_token_scrape_token_writes(
    compose: dict[str, Any]
) -> None:
    services = compose["services"]
    command = services["scrape-token"]["command"]
    written = Path(command[command.index("--out") + 1])
    assert command[command.index("--role") + 1] == "ops"
    assert int(command[command.index("--ttl-hours") + 1]) >= 365 * 24
    assert services["scrape-token"]["depends_on"] == {}
    # The same named volume: written at the token's directory, read-only in Prometheus.
    (volume, _) = mounts(services["scrape-token"])[written.parent.as_posix()]
    assert volume in compose["volumes"] and not volume.startswith(".")
    prometheus = services["prometheus"]
    readable = {target for target, (source, options) in mounts(prometheus).items()
                if source == volume and options == "ro"}
    assert readable == {written.parent.as_posix()}
    assert prometheus["depends_on"]["scrape-token"] == {
        "condition": "service_completed_successfully"}
    # Only the gateway's job sends it: ingest's and the workers' /metrics are open.
    jobs = {job["job_name"]: job for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())[
        "scrape_configs"]}
    assert jobs["kommunepuls-gateway"]["authorization"] == {
        "type": "Bearer", "credentials_file": written.as_posix()}
    assert [name for name, job in jobs.items() if "authorization" in job] == [
        "kommunepuls-gateway"]


def test_prometheus_may_read_the_token_file_and_its_directory(compose: dict[str, Any]) -> None:
    # A new named volume takes owner and mode from the image's directory it is mounted on;
    # the token is written 0640, so Prometheus (user nobody) reads it through the group.
    command = compose["services"]["scrape-token"]["command"]
    directory = Path(command[command.index("--out") + 1]).parent.as_posix()
    created = [rest for keyword, rest in dockerfile_instructions()
               if keyword == "RUN" and "install -d" in rest and directory in rest]
    assert created, f"the Dockerfile does not create {directory}"
    install = re.search(r"install -d -o (\d+) -g (\d+) -m (0\d{3})", created[0])
    assert install, created[0]
    owner, group, mode = install.groups()
    user = compose["services"]["scrape-token"]["user"]
    assert user == f"{owner}:{group}"
    assert int(mode, 8) & 0o050 == 0o050, "the group must list and enter the directory"
    assert group in [str(g) for g in compose["services"]["prometheus"]["group_add"]]


def test_the_scrape_token_command_signs_an_ops_token_with_the_compose_secret(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from kommunepuls.auth import Role, verify_token
    from kommunepuls.cli import app

    service = compose["services"]["scrape-token"]
    env = environment(service)
    settings_from_env(env, monkeypatch)  # the container's environment, exactly
    command = list(service["command"])
    out = tmp_path / "scrape-token"
    command[command.index("--out") + 1] = str(out)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    principal = verify_token(env["KOMMUNEPULS_JWT_SECRET"].encode(), out.read_text().strip())
    assert (principal.role, principal.subject) == (Role.ops, "prometheus")


def test_app_containers_are_hardened(compose: dict[str, Any]) -> None:
    for name, svc in app_services(compose).items():
        assert svc["read_only"] is True, name
        assert svc["user"].split(":")[0] not in ("0", "root"), name
        assert "ALL" in svc["cap_drop"], name
        assert svc["environment"]["KOMMUNEPULS_DATA_DIR"] in svc["tmpfs"], name


def test_bind_mounts_exist_in_the_repository(compose: dict[str, Any]) -> None:
    sources = [
        volume.split(":", 1)[0]
        for svc in compose["services"].values()
        for volume in svc.get("volumes", [])
        if isinstance(volume, str) and volume.startswith(".")
    ]
    assert sources, "Prometheus and Grafana mount their configuration from deploy/"
    for source in sources:
        assert (REPO_ROOT / source).exists(), source
    assert (REPO_ROOT / "deploy/grafana/provisioning/datasources").is_dir()
    assert (REPO_ROOT / "deploy/grafana/provisioning/dashboards").is_dir()


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards(
    compose: dict[str, Any],
) -> None:
    provisioning = REPO_ROOT / "deploy/grafana/provisioning"
    datasources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards/kommunepuls.yml").read_text())
    (provider,) = providers["providers"]
    target_to_source = {
        volume.split(":")[1]: volume.split(":")[0]
        for volume in compose["services"]["grafana"]["volumes"]
    }
    assert target_to_source[provider["options"]["path"]] == "./deploy/grafana/dashboards"
