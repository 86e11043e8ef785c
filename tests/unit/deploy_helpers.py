"""Shared checks for the deployment tests: what the code really accepts.

The compose file, the Kubernetes manifests and the Dockerfile name CLI commands and
environment variables; these helpers answer from the code itself (the typer app and
`kommunepuls.config.Settings`), so a renamed setting or command breaks a test, not a deploy.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from pydantic import AliasChoices

from kommunepuls.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]

# Variables a deployment file sets for the application (other containers' own variables,
# such as the Kafka broker's KAFKA_*, are not checked against Settings).
APP_ENV_PATTERN = re.compile(r"^(KOMMUNEPULS_\w+|KAFKA_\w+|DATABASE_URL)$")

# The secrets Settings refuses to run without outside the embedded profile.
FAKE_SECRETS = {
    "KOMMUNEPULS_PSEUDONYM_KEY": "test-pseudonym-key-" + "p" * 40,
    "KOMMUNEPULS_JWT_SECRET": "test-jwt-secret-" + "j" * 40,
}

# Mirrors the CLI as the Foundation issue defines it; used only if kommunepuls.cli is absent.
FALLBACK_COMMANDS = frozenset({
    ("serve", "ingest"), ("serve", "cohorts"), ("serve", "metrics"), ("serve", "gateway"),
    ("migrate",),
})


def settings_env_names() -> set[str]:
    """Every environment variable name Settings reads (upper case)."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def unknown_app_env(names: Sequence[str]) -> list[str]:
    """Application-looking variables that Settings does not read (typos, stale names)."""
    known = settings_env_names()
    return sorted(n for n in names if APP_ENV_PATTERN.match(n) and n.upper() not in known)


def settings_from_env(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Build Settings from exactly `env` (plus nothing from the test's own environment)."""
    import os

    for name in list(os.environ):
        if APP_ENV_PATTERN.match(name.upper()):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def assert_cli_accepts(argv: Sequence[str]) -> None:
    """Fail unless `kommunepuls <argv>` parses as a real command with valid arguments."""
    if importlib.util.find_spec("kommunepuls.cli") is None:
        # TODO: remove once kommunepuls.cli exists everywhere (Foundation issue).
        assert tuple(argv) in FALLBACK_COMMANDS, f"unknown command: kommunepuls {' '.join(argv)}"
        return

    import typer.main

    from kommunepuls.cli import app

    # Duck-typed: recent typer versions carry their own copy of click.
    command = typer.main.get_command(app)
    args = list(argv)
    path = ["kommunepuls"]
    while hasattr(command, "commands"):  # a group
        assert args, f"`{' '.join(path)}` needs a subcommand"
        name = args.pop(0)
        sub = command.get_command(command.context_class(command), name)
        assert sub is not None, f"`{' '.join(path)}` has no subcommand {name!r}"
        command, path = sub, [*path, name]
    try:
        # Parses and validates the arguments (e.g. the service choice) without running it.
        command.make_context(" ".join(path), args)
    except Exception as exc:
        if not hasattr(exc, "format_message"):  # not a click usage error
            raise
        raise AssertionError(f"kommunepuls {' '.join(argv)}: {exc.format_message()}") from None
