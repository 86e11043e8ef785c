"""The gateway's answers to `values`, `series` and `ranking`, kept until the read models move.

Why: a dashboard asks the same few questions again and again, and between two flushes of
the metrics worker every answer is the same bytes. Building one through FastAPI (token,
parameters, query, models, JSON) costs ~1-2 ms of CPU; sending the kept bytes costs tens of
microseconds, so one process can answer 1,000 requests a second on a small machine.

What an answer depends on, and so what it is kept under:
- the route, the exact path and query string, and whether CSV was asked for (`Accept`);
- the caller's role: `national` sees raw counts, `municipality` suppressed ones. Nothing
  else of the caller enters these three routes (a municipality's own rights matter only
  for worklists and revisions, which are never kept), so the role is the key's
  visibility class, and a municipality can never be answered from a national answer;
- the read models' version: the metrics checkpoints (each flush writes its counts,
  revisions and checkpoint in one transaction, with the checkpoint's `updated_at` set to
  that transaction's start, so any flush changes it), the platform clock, and the position
  the read models are known to be through (`events_through`, from the freshness cache).

Freshness bound: the version an answer is looked up under is never older than
`freshness_s` (250 ms by default, never longer than the app's `cache_seconds`): it is
re-read from PostgreSQL in the background once half that old, and waited for if older
(`freshness.Cached`). So every answer reflects every flush committed more than
`freshness_s` before the request arrived, and an answer kept under an older version is never
sent again. Writes to the read models that do not go through the metrics flush (by hand, in
SQL) are seen only with the next flush.

Only a 200 whose route is one of the three is kept. Anything else (no token, an expired or
forged one, a role that may not read, an unknown parameter, a new question) goes through the
whole app, which answers exactly as it would without this layer. Concurrent requests for the
same missing answer wait for the first one's result instead of each building it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kommunepuls.auth import Role
from services.gateway.csv_format import prefers_csv
from services.gateway.freshness import Cached, Freshness
from services.gateway.tokens import VerifiedTokens

FRESHNESS_SECONDS = 0.25
PREFIX = "/v1/indicators/"
CACHEABLE_ROUTES = frozenset(f"{PREFIX}{{indicator_id}}/{name}"
                             for name in ("values", "series", "ranking"))
READERS = frozenset({Role.municipality, Role.national})
MAX_ENTRIES = 4_096
MAX_BYTES = 64 * 1024 * 1024

Key = tuple[Role, str, bytes, bool]


@dataclass(frozen=True, slots=True)
class Answer:
    headers: list[tuple[bytes, bytes]]
    body: bytes
    route: str  # the route template, the request histogram's label


class AnswerStore:
    """Answers of one read-model version; a new version empties the store."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._version: Hashable = None
        self._answers: dict[Key, Answer] = {}
        self._bytes = 0
        self._building: dict[Key, asyncio.Future[Answer | None]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, version: Hashable, key: Key) -> Answer | None:
        if version != self._version:
            # Versions only move forward: the first request that sees a new one drops
            # everything kept under the old one.
            self._version = version
            self._answers = {}
            self._building = {}
            self._bytes = 0
            return None
        return self._answers.get(key)

    def put(self, version: Hashable, key: Key, answer: Answer) -> None:
        if version != self._version:
            return  # built from an older version: the next request rebuilds it
        self._answers[key] = answer
        self._bytes += len(answer.body)
        while len(self._answers) > self._max_entries or self._bytes > self._max_bytes:
            oldest = next(iter(self._answers))
            self._bytes -= len(self._answers.pop(oldest).body)

    def building(self, version: Hashable, key: Key) -> asyncio.Future[Answer | None] | None:
        return self._building.get(key) if version == self._version else None

    def start_building(self, version: Hashable, key: Key) -> asyncio.Future[Answer | None]:
        future: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        if version == self._version:
            self._building[key] = future
        return future

    def done_building(self, key: Key, future: asyncio.Future[Answer | None],
                      answer: Answer | None) -> None:
        if self._building.get(key) is future:
            del self._building[key]
        if not future.done():
            future.set_result(answer)


class ReadModelVersion:
    """What the kept answers depend on; set up at startup with the pool and freshness."""

    def __init__(self, load: Callable[[], Awaitable[Hashable]], freshness: Cached[Freshness],
                 freshness_s: float) -> None:
        self._watermark = Cached(load, freshness_s)
        self._freshness = freshness

    async def get(self) -> Hashable:
        # The watermark first: the freshness read after it is at least as new.
        watermark = await self._watermark.get()
        return watermark, (await self._freshness.get()).through


class ResponseCache:
    """ASGI middleware in front of the gateway: answers kept requests from the store."""

    def __init__(self, app: ASGIApp, cache: GatewayCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = self.cache
        if (scope["type"] != "http" or scope["method"] != "GET" or cache.version is None
                or not scope["path"].startswith(PREFIX)):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        authorization = accept = None
        for name, value in scope["headers"]:
            # The first of each, as Starlette's `headers.get` (and so the app) reads them.
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"accept" and accept is None:
                accept = value.decode("latin-1")
        principal = None
        if authorization is not None:
            # As FastAPI's HTTPBearer splits it: the token is everything after one space.
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token:
                principal = cache.tokens.principal(token)
        if principal is None or principal.role not in READERS:
            await self.app(scope, receive, send)  # the app answers 401 / 403
            return
        try:
            version = await cache.version.get()
        except Exception:  # whatever failed, the app answers (503 if the DB is away)
            await self.app(scope, receive, send)
            return
        key: Key = (principal.role, scope["path"], scope["query_string"],
                    prefers_csv(accept or ""))
        store = cache.store
        answer = store.get(version, key)
        if answer is None and (pending := store.building(version, key)) is not None:
            answer = await pending
        if answer is not None:
            store.hits += 1
            await send({"type": "http.response.start", "status": 200,
                        "headers": answer.headers})
            await send({"type": "http.response.body", "body": answer.body})
            cache.observe(answer.route, time.perf_counter() - started)
            return
        store.misses += 1
        await self._build(scope, receive, send, version, key)

    async def _build(self, scope: Scope, receive: Receive, send: Send, version: Hashable,
                     key: Key) -> None:
        store = self.cache.store
        future = store.start_building(version, key)
        status, headers, chunks, complete = 0, [], [], False

        async def capture(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        answer = None
        try:
            await self.app(scope, receive, capture)
            route = getattr(scope.get("route"), "path", None)
            if status == 200 and complete and route in CACHEABLE_ROUTES:
                answer = Answer(headers, b"".join(chunks), route)
                store.put(version, key, answer)
        finally:
            store.done_building(key, future, answer)


class GatewayCache:
    """The response cache's parts: token memory, version, store, request histogram."""

    def __init__(self, secret: bytes, freshness_s: float = FRESHNESS_SECONDS,
                 duration: Histogram | None = None) -> None:
        self.freshness_s = freshness_s
        self.tokens = VerifiedTokens(secret)
        self.store = AnswerStore()
        self.version: ReadModelVersion | None = None  # set once the pool exists
        self.duration = duration
        self._observers: dict[str, Any] = {}

    def start(self, load: Callable[[], Awaitable[Hashable]],
              freshness: Cached[Freshness]) -> None:
        self.version = ReadModelVersion(load, freshness, self.freshness_s)

    def observe(self, route: str, seconds: float) -> None:
        """A kept answer is counted in the request histogram like any other."""
        if self.duration is None:
            return
        child = self._observers.get(route)
        if child is None:
            child = self._observers[route] = self.duration.labels("gateway", "GET", route,
                                                                   "200")
        child.observe(seconds)
