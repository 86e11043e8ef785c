import json
from pathlib import Path

import pytest

from kommunepuls.config import DEV_SECRETS_FILE, ConfigError, Settings, load_settings

GOOD = "x" * 40


def test_production_refuses_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KOMMUNEPULS_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("KOMMUNEPULS_JWT_SECRET", raising=False)
    with pytest.raises(ConfigError, match="KOMMUNEPULS_PSEUDONYM_KEY"):
        Settings(profile="production")


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "short-but-not-placeholder"])
def test_production_refuses_placeholder_secrets(placeholder: str) -> None:
    with pytest.raises(ConfigError, match="KOMMUNEPULS_JWT_SECRET"):
        Settings(profile="production", pseudonym_key=GOOD, jwt_secret=placeholder)


def test_production_accepts_real_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOMMUNEPULS_PSEUDONYM_KEY", GOOD)
    monkeypatch.setenv("KOMMUNEPULS_JWT_SECRET", GOOD + "y")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/k")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    s = load_settings()
    assert s.secret("jwt_secret") == (GOOD + "y").encode()
    assert s.database_url == "postgresql://u@db:5432/k"
    assert s.kafka_bootstrap_servers == "kafka:9092"
    with pytest.raises(Exception):  # noqa: B017 - frozen
        s.gateway_port = 1  # type: ignore[misc]


def test_embedded_profile_generates_dev_secrets_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KOMMUNEPULS_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("KOMMUNEPULS_JWT_SECRET", raising=False)
    first = load_settings(profile="embedded", data_dir=tmp_path)
    second = load_settings(profile="embedded", data_dir=tmp_path)
    assert first.secret("pseudonym_key") == second.secret("pseudonym_key")
    stored = json.loads((tmp_path / DEV_SECRETS_FILE).read_text())
    assert stored["jwt_secret"].encode() == first.secret("jwt_secret")
    assert (tmp_path / DEV_SECRETS_FILE).stat().st_mode & 0o077 == 0


def test_environment_wins_over_generated_dev_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_settings(profile="embedded", data_dir=tmp_path)
    monkeypatch.setenv("KOMMUNEPULS_JWT_SECRET", "from-the-environment")
    assert (
        load_settings(profile="embedded", data_dir=tmp_path).secret("jwt_secret")
        == b"from-the-environment"
    )
