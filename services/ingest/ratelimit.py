"""Per-token rate limit on the ingest API: a token bucket per token subject.

A fagsystem that floods the API (a retry loop gone wrong) gets 429 with Retry-After
instead of starving every other municipality's sender. Tokens are verified here, so a
forged subject cannot drain someone else's bucket; requests without a valid token are
limited by client address (they are refused anyway, but cheaply).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from kommunepuls.auth import AuthError, verify_token
from kommunepuls.web.problems import PROBLEM_BASE, Problem, problem_response

LIMITED_PATHS = ("/v1/events",)


@dataclass(slots=True)
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Pure: `take(key, now)` -> seconds to wait (0 = allowed)."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate, self.burst = rate_per_s, burst
        self._buckets: dict[str, Bucket] = {}

    def take(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


class RateLimit:
    def __init__(self, app: ASGIApp, *, secret: bytes, rate_per_s: float, burst: float) -> None:
        self.app = app
        self.secret = secret
        self.buckets = TokenBuckets(rate_per_s, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in LIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self._key(scope), time.monotonic())
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        problem = Problem(type=PROBLEM_BASE + "too-many-requests", title="Too many requests",
                          status=429, detail=f"this token's request rate is exceeded; retry "
                          f"in {retry} s with the same event_ids", instance=scope["path"])
        await problem_response(problem, {"Retry-After": str(retry)})(scope, receive, send)

    def _key(self, scope: Scope) -> str:
        for name, value in scope.get("headers", ()):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                try:
                    return "sub:" + verify_token(self.secret, value[7:].decode()).subject
                except (AuthError, UnicodeDecodeError):
                    break
        client = scope.get("client")
        return "addr:" + (client[0] if client else "unknown")
