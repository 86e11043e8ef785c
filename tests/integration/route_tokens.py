"""Tokens for the route-security tests: good ones for a route's admitted role, and every
kind of defect a bad one can carry."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import jwt

from kommunepuls.auth import ISSUER, Role, issue_token
from tests.conftest import TEST_JWT_SECRET
from tests.integration.route_table import ACCESS, MUNICIPAL_ROLES, OWN, Endpoint

SECRET = TEST_JWT_SECRET.encode()


def base_role(endpoint: Endpoint) -> Role:
    """A role the route admits, preferring one that must carry municipalities, so that a
    defect in that claim is tried where it matters."""
    roles = ACCESS[endpoint.key].roles if endpoint.key in ACCESS else frozenset({Role.national})
    return sorted(roles, key=lambda r: (r not in MUNICIPAL_ROLES, r.value))[0]


def claims(role: Role, subject: str) -> dict[str, Any]:
    now = int(time.time())
    out: dict[str, Any] = {"sub": subject, "role": role.value, "iss": ISSUER,
                           "iat": now, "exp": now + 300}
    if role in MUNICIPAL_ROLES:
        out["municipalities"] = [OWN]
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(payload: dict[str, Any], key: bytes = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def without(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != name}


def tampered(payload: dict[str, Any]) -> str:
    # A genuine signature over the original claims, with the claims swapped for national.
    header, _, signature = signed(payload).split(".")
    body = json.dumps(payload | {"role": Role.national.value}).encode()
    return ".".join([header, base64.urlsafe_b64encode(body).rstrip(b"=").decode(), signature])


def _shifted(payload: dict[str, Any], **offsets: int) -> dict[str, Any]:
    now = int(time.time())
    return payload | {name: now + offset for name, offset in offsets.items()}


Defect = Callable[[dict[str, Any]], dict[str, str]]
# Each turns the claims of an otherwise good token into the request's headers: all 401.
TOKEN_DEFECTS: dict[str, Defect] = {
    "no token": lambda c: {},
    "basic scheme": lambda c: {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()},
    "empty bearer": lambda c: {"Authorization": "Bearer "},
    "malformed": lambda c: bearer("not-a-jwt"),
    "expired": lambda c: bearer(signed(_shifted(c, iat=-3600, exp=-60))),
    "not yet valid": lambda c: bearer(signed(_shifted(c, nbf=3600))),
    "wrong signature": lambda c: bearer(signed(c, b"not-the-platform-secret" * 2)),
    "tampered claims": lambda c: bearer(tampered(c)),
    "alg none": lambda c: bearer(jwt.encode(c, None, algorithm="none")),  # type: ignore[arg-type]
    "alg HS384": lambda c: bearer(signed(c, algorithm="HS384")),
    "wrong issuer": lambda c: bearer(signed(c | {"iss": "someone-else"})),
    "unknown role": lambda c: bearer(signed(c | {"role": "admin"})),
    "missing sub": lambda c: bearer(signed(without(c, "sub"))),
    "missing role": lambda c: bearer(signed(without(c, "role"))),
    "missing exp": lambda c: bearer(signed(without(c, "exp"))),
    "missing iat": lambda c: bearer(signed(without(c, "iat"))),
    "missing iss": lambda c: bearer(signed(without(c, "iss"))),
    "municipalities not a list": lambda c: bearer(signed(c | {"municipalities": OWN})),
}
# Only where the token's role must carry municipalities.
MUNICIPALITY_DEFECTS: dict[str, Defect] = {
    "missing municipalities": lambda c: bearer(signed(without(c, "municipalities"))),
    "empty municipalities": lambda c: bearer(signed(c | {"municipalities": []})),
}


def role_token(role: Role, municipality: str = OWN, subject: str = "route-security") -> str:
    scoped = [municipality] if role in MUNICIPAL_ROLES else []
    return issue_token(SECRET, subject=subject, role=role, municipalities=scoped)
