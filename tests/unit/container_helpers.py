"""docker-compose.yml and the Dockerfile read as Compose and Docker read them (shared by the
container test modules): Compose's variable interpolation, the Dockerfile's instructions,
and the names the files and the healthcheck script share."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.unit.deploy_helpers import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
COMPOSE_SCHEMA = REPO_ROOT / "tests" / "data" / "compose-spec.json"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
HEALTHCHECK_SCRIPT = REPO_ROOT / "deploy" / "docker" / "healthcheck.py"

APP_SERVICES = ("ingest", "cohorts", "metrics", "gateway")
# Steps that run once per `up` and exit, and the command each runs.
ONE_SHOTS = {
    "migrate": ["migrate"],
    "scrape-token": ["token", "--role", "ops", "--subject", "prometheus", "--ttl-hours", "8760",
                     "--out", "/run/kommunepuls/scrape-token"],
}
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
HTTP_SERVICES = ("ingest", "gateway")
# What `docker compose up` must be given; none may have a default in the file.
REQUIRED_SECRETS = (
    "POSTGRES_PASSWORD", "KOMMUNEPULS_PSEUDONYM_KEY", "KOMMUNEPULS_JWT_SECRET",
    "GRAFANA_ADMIN_PASSWORD", "KOMMUNEPULS_INGRESS_PRIVATE_KEY",
)
# The port variable of each service, as Settings names it.
PORT_VARIABLES = {
    "ingest": "KOMMUNEPULS_INGEST_PORT", "gateway": "KOMMUNEPULS_GATEWAY_PORT",
    "cohorts": "KOMMUNEPULS_COHORTS_WEB_PORT", "metrics": "KOMMUNEPULS_METRICS_WEB_PORT",
}
TEST_ENV = {name: f"value-of-{name.lower()}-" + "x" * 32 for name in REQUIRED_SECRETS}


# --- Compose variable interpolation (the subset of the Compose spec we use) ----------------

class InterpolationError(ValueError):
    """A required variable (${VAR:?message}) is unset or empty."""


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[_a-zA-Z][_a-zA-Z0-9]*))"
)


def interpolate_string(text: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in ("-", ":-"):
            return arg if unset else str(value)
        if op in ("?", ":?"):
            if unset:
                raise InterpolationError(f"{name}: {arg}")
            return str(value)
        return "" if value is None else value

    return _VARIABLE.sub(replace, text)


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate_string(node, env)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


# --- the Dockerfile ------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions
