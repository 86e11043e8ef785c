"""How far the read models are behind the event store, cached for a few seconds.

The metrics worker checkpoints each partition's position, but a partition only moves when
events of its own citizens arrive. The lowest checkpoint would therefore call the read
models "behind" for as long as one partition is quiet — on a laptop demo with few citizens,
forever, and the lag alert would fire. The exact answer is the position just before the
first event that its own partition has not reached yet; `reflected_through` finds it by
looking at the (few) events after the lowest checkpoint.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from kommunepuls.logs import get_logger
from kommunepuls.segments import partition_for
from services.gateway.queries import Pool, StoreFreshness, store_freshness

# Beyond this many events after the lowest checkpoint the answer is a lower bound: the
# read models are at least that far, and the lag is then large anyway.
SCAN_EVENTS = 10_000

T = TypeVar("T")
log = get_logger("kommunepuls.gateway")


@dataclass(frozen=True, slots=True)
class Freshness:
    head: int  # newest position in the event store
    through: int  # every event up to here is reflected in the read models
    lag_events: int
    lag_seconds: float  # how long the oldest unreflected event has waited


def reflected_through(store: StoreFreshness, partitions: int,
                      now: datetime) -> Freshness:
    """Pure: the position the read models reflect completely, and the lag behind the head."""
    through, waiting_since = store.head, None
    for position, citizen_id, recorded_at in store.pending:
        if store.checkpoints[partition_for(citizen_id, partitions)] < position:
            through, waiting_since = position - 1, recorded_at
            break
    else:
        if store.pending and len(store.pending) >= SCAN_EVENTS:
            last_position, _, last_recorded = store.pending[-1]
            through, waiting_since = last_position, last_recorded
    lag_seconds = 0.0 if waiting_since is None else max(
        0.0, (now - waiting_since).total_seconds())
    return Freshness(store.head, through, store.head - through, lag_seconds)


async def load_freshness(pool: Pool, partitions: int) -> Freshness:
    store = await store_freshness(pool, partitions, SCAN_EVENTS)
    return reflected_through(store, partitions, datetime.now(UTC))


class Cached(Generic[T]):
    """A value never older than `ttl_s`; concurrent callers share one load.

    Past half its age limit the value is still returned at once, and reloaded in the
    background: under steady traffic no request waits for a reload, so a slow query (a busy
    database) is no pause for everyone at each expiry. Only a value older than `ttl_s` (no
    traffic, or a reload that failed) makes the caller wait for a load."""

    def __init__(self, load: Callable[[], Awaitable[T]], ttl_s: float) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._value: T | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._ahead: asyncio.Task[None] | None = None

    @property
    def last(self) -> T | None:
        """The last loaded value (for synchronous readers such as a Prometheus collector)."""
        return self._value

    def _age(self) -> float:
        return float("inf") if self._value is None else time.monotonic() - self._loaded_at

    async def _reload(self) -> None:
        async with self._lock:
            if self._age() >= self._ttl_s / 2:
                started = time.monotonic()  # the value is as old as the load's start
                self._value = await self._load()
                self._loaded_at = started

    async def _reload_ahead(self) -> None:
        try:
            await self._reload()
        except Exception as exc:  # the next caller past the age limit loads, and sees it
            log.warning("could not reload ahead", error=type(exc).__name__)

    async def get(self) -> T:
        age = self._age()
        if age >= self._ttl_s:
            await self._reload()
        elif age >= self._ttl_s / 2 and (self._ahead is None or self._ahead.done()):
            self._ahead = asyncio.get_running_loop().create_task(self._reload_ahead())
        assert self._value is not None
        return self._value
