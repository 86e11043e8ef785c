"""Settings: one frozen object, built once per process from the environment (12-factor).

The embedded profile (`kommunepuls up`, tests) generates development secrets into the
data dir when none are set; every other profile refuses to start without real ones.
Environment variables always win.
"""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["embedded", "production"]

# Values people paste from examples; refusing them keeps a demo secret out of production.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "placeholder", "dev", "test", "xxx", "password"}
)
MIN_SECRET_LENGTH = 32
DEV_SECRETS_FILE = "dev-secrets.json"


class ConfigError(RuntimeError):
    """The configuration cannot be used as given."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOMMUNEPULS_", frozen=True, extra="ignore")

    profile: Profile = "production"
    data_dir: Path = Path(".kommunepuls")
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "json"

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/kommunepuls",
        validation_alias=AliasChoices("DATABASE_URL", "KOMMUNEPULS_DATABASE_URL"),
    )
    # A schema of its own per test (and optionally per deployment); None = the server default.
    database_schema: str | None = None
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "KOMMUNEPULS_KAFKA_BOOTSTRAP_SERVERS"),
    )
    # Apache Kafka supports both; the embedded Tansu broker rejects them.
    kafka_idempotence: bool = True
    kafka_partitions: int = 4
    kafka_replication_factor: int = 1
    # Tansu never frees memory: bound what a topic keeps (the event store is the record).
    kafka_retention_ms: int = 24 * 3600 * 1000
    # Prefix for every topic name, so tests (and shared clusters) get their own topics.
    topic_prefix: str = ""
    topic_case_events: str = "case-events"
    topic_cohort_facts: str = "cohort-facts"
    topic_ingress: str = "fagsystem-events"
    topic_receipts: str = "fagsystem-receipts"
    topic_dead_letters: str = "dead-letters"

    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8001
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    worker_host: str = "127.0.0.1"
    embedded_broker_port: int = 19092
    cohorts_web_port: int = 6066
    metrics_web_port: int = 6067

    pseudonym_key: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = 30 * 24 * 3600

    # The Kafka ingress (services/ingest/ingress.py): on unless a deployment takes HTTP only.
    ingress_enabled: bool = True
    # X25519 private key (base64) that opens fagsystems' sealed CPRs; wins over the key file.
    ingress_private_key: SecretStr | None = None
    # Where `kommunepuls keys` writes / ingest reads the key pair; None = <data_dir>/ingress-key.
    ingress_key_file: Path | None = None

    # Requests per second and burst per token on POST /v1/events (429 + Retry-After beyond).
    ingest_rate_limit_per_s: float = 50.0
    ingest_rate_limit_burst: float = 100.0
    ingest_max_events: int = 10_000
    ingest_max_bytes: int = 16 * 1024 * 1024
    segment_max_events: int = 500
    segment_max_ms: int = 50
    # Least time between two re-evaluations of every citizen for a new day (cohorts).
    sweep_interval_s: float = 5.0
    suppression_threshold: int = 5
    # Fixes the platform's "today" (tests, reproducible recomputes); otherwise a simulator's
    # clock in the database, otherwise the real date.
    today: date | None = None

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.profile == "embedded":
            return self
        for name in ("pseudonym_key", "jwt_secret"):
            value: SecretStr | None = getattr(self, name)
            raw = value.get_secret_value() if value else ""
            if raw.strip().lower() in PLACEHOLDER_SECRETS or len(raw) < MIN_SECRET_LENGTH:
                env = f"KOMMUNEPULS_{name.upper()}"
                raise ConfigError(
                    f"{env} is missing or a placeholder; set a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters (profile {self.profile!r})"
                )
        return self

    def to_env(self) -> dict[str, str]:
        """These settings as the environment variables that recreate them (for children)."""
        env = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None:
                continue
            alias = info.validation_alias
            choices = getattr(alias, "choices", None)
            key = str(choices[0]) if choices else f"KOMMUNEPULS_{name.upper()}"
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    def secret(self, name: Literal["pseudonym_key", "jwt_secret"]) -> bytes:
        value: SecretStr | None = getattr(self, name)
        if value is None:
            raise ConfigError(f"KOMMUNEPULS_{name.upper()} is not set")
        return value.get_secret_value().encode()


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Read or create the embedded profile's secrets, kept beside its data so a
    second `make demo` keeps the same pseudonyms and tokens."""
    path = data_dir / DEV_SECRETS_FILE
    if path.exists():
        return json.loads(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {"pseudonym_key": secrets.token_urlsafe(48), "jwt_secret": secrets.token_urlsafe(48)}
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def load_settings(**overrides: object) -> Settings:
    """Build the process's settings; fill dev secrets for the embedded profile."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.profile != "embedded":
        return settings
    missing = {n for n in ("pseudonym_key", "jwt_secret") if getattr(settings, n) is None}
    if not missing:
        return settings
    generated = _dev_secrets(settings.data_dir)
    return settings.model_copy(update={n: SecretStr(generated[n]) for n in missing})
