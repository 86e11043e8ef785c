"""RFC 9457 problem details: one model, one set of exception handlers for both APIs."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kommunepuls.auth import Forbidden, InvalidToken

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://kommunepuls.dk/problems/"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem object, as every error of the platform is reported."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[PROBLEM_BASE + "validation"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """An error that knows its problem type and status; raised by services, rendered here."""

    status = 500
    slug = "internal"
    title = "Internal error"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers

    def problem(self, instance: str | None = None) -> Problem:
        return Problem(
            type=PROBLEM_BASE + self.slug, title=self.title, status=self.status,
            detail=self.detail, instance=instance,
            errors=[FieldError(**e) for e in self.errors] if self.errors is not None else None,
        )


class Unauthorized(ProblemError):
    """No valid token (401)."""

    status, slug, title = 401, "unauthorized", "Authentication required"


class AccessDenied(ProblemError):
    """A valid token without the right role or municipality (403)."""

    status, slug, title = 403, "forbidden", "Access denied"


class NotFound(ProblemError):
    """The resource does not exist (404)."""

    status, slug, title = 404, "not-found", "Not found"


class InvalidRequest(ProblemError):
    """The request parameters are wrong (422)."""

    status, slug, title = 422, "validation", "Invalid request"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(problem.model_dump(exclude_none=True))
    return Response(body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE,
                    headers=headers)


_HTTP_TITLES = {400: "Bad request", 401: "Authentication required", 403: "Access denied",
                404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
                413: "Payload too large", 415: "Unsupported media type", 429: "Too many requests"}


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(exc.problem(request.url.path), exc.headers)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title = _HTTP_TITLES.get(exc.status_code, "Error")
        slug = title.lower().replace(" ", "-")
        detail = exc.detail if isinstance(exc.detail, str) else None
        problem = Problem(type=PROBLEM_BASE + slug, title=title, status=exc.status_code,
                          detail=detail, instance=request.url.path)
        return problem_response(problem, getattr(exc, "headers", None))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [FieldError(loc=[str(p) if not isinstance(p, int) else p for p in e["loc"]],
                             msg=e["msg"]) for e in exc.errors()]
        problem = Problem(type=PROBLEM_BASE + "validation", title="Invalid request", status=422,
                          detail="; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors),
                          instance=request.url.path, errors=errors)
        return problem_response(problem)

    async def on_auth(request: Request, exc: Exception) -> Response:
        error: ProblemError = (Unauthorized(str(exc)) if isinstance(exc, InvalidToken)
                               else AccessDenied(str(exc)))
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return problem_response(error.problem(request.url.path), headers)

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        # The database is away (restart, failover): tell clients to retry, never a 500.
        problem = Problem(type=PROBLEM_BASE + "unavailable", title="Service unavailable",
                          status=503, detail=f"storage unavailable ({type(exc).__name__}); "
                          "retry with the same event_ids", instance=request.url.path)
        return problem_response(problem, {"Retry-After": "2"})

    for unavailable in (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                        asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError):
        app.add_exception_handler(unavailable, on_unavailable)
    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(InvalidToken, on_auth)
    app.add_exception_handler(Forbidden, on_auth)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": title,
             "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, title in ((401, "Missing or invalid token"),
                          (403, "Role or municipality not allowed"),
                          (422, "Invalid request"))
}
