"""FastAPI dependencies that turn a bearer token into a Principal with an allowed role."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kommunepuls.auth import Forbidden, InvalidToken, Principal, Role, verify_token

_bearer = HTTPBearer(auto_error=False, description="JWT issued by `kommunepuls token`")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise InvalidToken("a bearer token is required")
    secret: bytes = request.app.state.jwt_secret
    return verify_token(secret, credentials.credentials)


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    allowed = frozenset(roles)

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(
                f"role {principal.role.value!r} may not use this; needs one of: {names}")
        return principal

    return dependency
