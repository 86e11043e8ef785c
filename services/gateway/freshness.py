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

from kommunepuls.segments import partition_for
from services.gateway.queries import Pool, StoreFreshness, store_freshness

# Beyond this many events after the lowest checkpoint the answer is a lower bound: the
# read models are at least that far, and the lag is then large anyway.
SCAN_EVENTS = 10_000

T = TypeVar("T")


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
    """A value loaded at most once per `ttl_s`; concurrent callers share one load."""

    def __init__(self, load: Callable[[], Awaitable[T]], ttl_s: float) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._value: T | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def last(self) -> T | None:
        """The last loaded value (for synchronous readers such as a Prometheus collector)."""
        return self._value

    def _fresh(self) -> bool:
        return self._value is not None and time.monotonic() - self._loaded_at < self._ttl_s

    async def get(self) -> T:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    self._value = await self._load()
                    self._loaded_at = time.monotonic()
        assert self._value is not None
        return self._value
