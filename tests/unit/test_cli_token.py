"""`kommunepuls token`: the token it prints or writes is one the services accept, with the
role, subject and lifetime asked for; `--out` is the credentials file Prometheus reads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from kommunepuls.auth import Role, verify_token
from kommunepuls.cli import app
from tests.unit.deploy_helpers import APP_ENV_PATTERN, FAKE_SECRETS

SECRET = FAKE_SECRETS["KOMMUNEPULS_JWT_SECRET"].encode()
YEAR_HOURS = 8760


@pytest.fixture(autouse=True)
def production_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Exactly the secrets a deployment sets, nothing from the developer's environment.
    for name in list(os.environ):
        if APP_ENV_PATTERN.match(name.upper()):
            monkeypatch.delenv(name)
    for name, value in FAKE_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .kommunepuls dev secrets to pick up


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["token", *args])
    return result.exit_code, result.stdout


def test_out_writes_a_group_readable_ops_token_that_lasts_a_year(tmp_path: Path) -> None:
    out = tmp_path / "scrape-token"
    code, printed = run("--role", "ops", "--subject", "prometheus",
                        "--ttl-hours", str(YEAR_HOURS), "--out", str(out))
    assert code == 0
    token = out.read_text()
    assert token.endswith("\n") and token.count("\n") == 1
    assert token.strip() not in printed  # the secret goes to the file only
    principal = verify_token(SECRET, token.strip())
    assert (principal.role, principal.subject) == (Role.ops, "prometheus")
    claims = jwt.decode(token.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 365 * 24 * 3600
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_out_replaces_an_earlier_token_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "scrape-token"
    out.write_text("an old token\n")
    out.chmod(0o644)
    assert run("--role", "national", "--out", str(out))[0] == 0
    assert verify_token(SECRET, out.read_text().strip()).role is Role.national
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scrape-token"]


def test_without_out_the_token_is_printed() -> None:
    code, printed = run("--role", "ops")
    assert code == 0
    assert verify_token(SECRET, printed.strip()).subject == "ops-cli"


def test_a_lifetime_under_an_hour_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "scrape-token"
    assert run("--role", "ops", "--ttl-hours", "0", "--out", str(out))[0] == 2
    assert not out.exists()
