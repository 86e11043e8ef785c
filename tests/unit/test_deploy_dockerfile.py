"""The Dockerfile, checked without Docker: a non-root multi-stage build whose environment
and command the code accepts, copying only what .dockerignore lets into the context."""

from __future__ import annotations

import json
import re

from tests.unit.container_helpers import DOCKERIGNORE, dockerfile_instructions
from tests.unit.deploy_helpers import REPO_ROOT, assert_cli_accepts, unknown_app_env


def test_dockerfile_is_multi_stage_with_a_non_root_runtime() -> None:
    instructions = dockerfile_instructions()
    stages = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(stages) >= 2, "a builder stage and a runtime stage"
    final = instructions[max(i for i, (k, _) in enumerate(instructions) if k == "FROM"):]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the runtime stage must switch to a non-root user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "numeric, so Kubernetes' runAsNonRoot can check it"
    final_dict = dict(final)
    assert json.loads(final_dict["ENTRYPOINT"]) == ["kommunepuls"]
    assert_cli_accepts(json.loads(final_dict["CMD"]))
    assert "HEALTHCHECK" in final_dict


def test_dockerfile_environment_exists_in_settings() -> None:
    names = [
        match
        for keyword, rest in dockerfile_instructions() if keyword == "ENV"
        for match in re.findall(r"([A-Z_][A-Z0-9_]*)=", rest)
    ]
    assert "KOMMUNEPULS_INGEST_HOST" in names
    assert not unknown_app_env(names)


def test_dockerfile_copies_only_what_the_build_context_contains() -> None:
    ignore = DOCKERIGNORE.read_text().splitlines()
    assert ignore[[line.strip() for line in ignore].index("*")] == "*", "deny by default"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for keyword, rest in dockerfile_instructions():
        if keyword != "COPY" or "--from=" in rest:
            continue
        sources = [part for part in rest.split() if not part.startswith("--")][:-1]
        for source in sources:
            assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed), (
                f"COPY {source}: excluded by .dockerignore")
