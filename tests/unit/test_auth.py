import time

import jwt
import pytest

from kommunepuls.auth import InvalidToken, Role, issue_token, verify_token

SECRET = b"s" * 40


def test_a_token_round_trips_role_and_municipalities() -> None:
    token = issue_token(
        SECRET, subject="aalborg-analyst", role=Role.municipality, municipalities=["851"]
    )
    principal = verify_token(SECRET, token)
    assert principal.role is Role.municipality
    assert principal.municipalities == {"851"}
    assert principal.may_act_for("851") and not principal.may_act_for("101")


def test_national_role_acts_for_every_municipality() -> None:
    principal = verify_token(SECRET, issue_token(SECRET, subject="star", role=Role.national))
    assert principal.may_act_for("101") and principal.may_act_for("851")


def test_expired_token_is_invalid() -> None:
    token = issue_token(SECRET, subject="x", role=Role.ops, ttl_seconds=10, now=time.time() - 100)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, token)


def test_wrong_signature_is_invalid() -> None:
    token = issue_token(b"o" * 40, subject="x", role=Role.ops)
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_alg_none_is_refused() -> None:
    claims = {
        "sub": "x",
        "role": "national",
        "iss": "kommunepuls",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    token = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


@pytest.mark.parametrize("missing", ["sub", "role", "exp", "iss"])
def test_missing_claims_are_refused(missing: str) -> None:
    claims = {
        "sub": "x",
        "role": "ops",
        "iss": "kommunepuls",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    del claims[missing]
    with pytest.raises(InvalidToken):
        verify_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))


def test_unknown_role_is_refused() -> None:
    claims = {
        "sub": "x",
        "role": "admin",
        "iss": "kommunepuls",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    with pytest.raises(InvalidToken, match="role"):
        verify_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))


def test_municipal_roles_need_a_known_municipality() -> None:
    with pytest.raises(ValueError, match="needs at least one"):
        issue_token(SECRET, subject="x", role=Role.fagsystem)
    with pytest.raises(ValueError, match="unknown municipality"):
        issue_token(SECRET, subject="x", role=Role.fagsystem, municipalities=["999"])
