"""Group commit: the appends of one process's concurrent requests share a transaction.

Every append takes the store's head lock until its commit (see event_store), so appends
serialise, and each pays for a transaction: the duplicate lookup, the lock, the COPY's
set-up and a WAL flush at commit, all while other appenders (other ingest processes)
wait. While one append is in flight, the requests of this process that finish validating
queue here; the next append takes them all at once, so N waiting requests cost one lock
turn and one commit instead of N.

The results are those of appending the requests one after the other in arrival order:
`append` judges a repeat of an event_id inside its batch against the first copy, exactly
as it judges one already stored (duplicate with its position, or conflict).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kommunepuls.storage.event_store import AppendResult, NewEvent, append


@dataclass(slots=True)
class _Request:
    events: list[NewEvent]
    results: asyncio.Future[list[AppendResult]]


class GroupAppender:
    """`append` for many concurrent callers of one process, one transaction per group."""

    def __init__(self, pool: asyncpg.Pool, *, max_events: int = 10_000) -> None:
        self._pool = pool
        self._max_events = max_events  # a group takes whole requests up to about this many
        self._waiting: deque[_Request] = deque()
        self._draining: asyncio.Task[None] | None = None  # kept: the loop holds tasks weakly

    async def append(self, events: Sequence[NewEvent]) -> list[AppendResult]:
        request = _Request(list(events), asyncio.get_running_loop().create_future())
        self._waiting.append(request)
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await request.results

    async def _drain(self) -> None:
        while self._waiting:
            group = self._next_group()
            if not group:
                continue
            try:
                async with self._pool.acquire() as conn:
                    stored = await append(conn, [e for r in group for e in r.events])
            except asyncio.CancelledError:  # shutting down: nobody is answered
                for request in (*group, *self._waiting):
                    request.results.cancel()
                raise
            except Exception as exc:  # every request of the group failed with it
                for request in group:
                    if not request.results.done():
                        request.results.set_exception(exc)
                continue
            start = 0
            for request in group:
                end = start + len(request.events)
                if not request.results.done():  # its caller may have gone (cancelled)
                    request.results.set_result(stored[start:end])
                start = end

    def _next_group(self) -> list[_Request]:
        group: list[_Request] = []
        size = 0
        while self._waiting and (not group or size + len(self._waiting[0].events)
                                 <= self._max_events):
            request = self._waiting.popleft()
            if request.results.cancelled():  # nobody waits for these: do not store them
                continue
            group.append(request)
            size += len(request.events)
        return group
