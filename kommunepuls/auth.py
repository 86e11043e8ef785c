"""Access tokens: HS256 JWTs with a role and the municipalities they may act for.

Shared by the ingest and gateway APIs (and later the Kafka ingress), so every entry
point verifies tokens the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import jwt

from kommunepuls.reference import is_municipality

ALGORITHM = "HS256"
ISSUER = "kommunepuls"


class Role(StrEnum):
    fagsystem = "fagsystem"
    municipality = "municipality"
    national = "national"
    ops = "ops"


class AuthError(Exception):
    """Root of authentication and authorisation failures."""


class InvalidToken(AuthError):
    """The token is missing, malformed, expired or badly signed (401)."""


class Forbidden(AuthError):
    """The token is valid but its role or municipalities do not allow this (403)."""


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    municipalities: frozenset[str]

    def may_act_for(self, municipality: str) -> bool:
        return self.role is Role.national or municipality in self.municipalities


def issue_token(
    secret: bytes,
    *,
    subject: str,
    role: Role,
    municipalities: list[str] | tuple[str, ...] = (),
    ttl_seconds: int = 30 * 24 * 3600,
    now: float | None = None,
) -> str:
    unknown = [m for m in municipalities if not is_municipality(m)]
    if unknown:
        raise ValueError(f"unknown municipality code(s): {', '.join(unknown)}")
    if role in (Role.fagsystem, Role.municipality) and not municipalities:
        raise ValueError(f"role {role.value} needs at least one municipality")
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": subject,
        "role": role.value,
        "municipalities": sorted(municipalities),
        "iss": ISSUER,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: bytes, token: str) -> Principal:
    try:
        # Pinning algorithms rejects `alg: none` and algorithm-confusion tokens.
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "role", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"the token is not valid: {exc}") from None
    try:
        role = Role(claims["role"])
    except ValueError:
        raise InvalidToken(f"unknown role {claims['role']!r}") from None
    municipalities = claims.get("municipalities", [])
    if not isinstance(municipalities, list) or not all(isinstance(m, str) for m in municipalities):
        raise InvalidToken("claim 'municipalities' must be a list of kommunekoder")
    # issue_token refuses to make such a token, so one that arrives was made some other way;
    # accepted, it would still read every route that is not municipality-scoped.
    if role in (Role.fagsystem, Role.municipality) and not municipalities:
        raise InvalidToken(f"role {role.value} needs claim 'municipalities'")
    return Principal(str(claims["sub"]), role, frozenset(municipalities))
