"""Feed simulated traffic to a running platform: post to ingest and drive the clock.

With `speed` = 86400 one simulated day passes per real second, so the demo moves through
the programme's two years in about fifteen minutes; `speed` = 0 sends as fast as it can.
The generator stays pure; this module is the only one that does I/O.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx

from kommunepuls.auth import Role, issue_token
from kommunepuls.clock import set_platform_today
from kommunepuls.config import Settings
from kommunepuls.reference import municipalities
from kommunepuls.simulator.emission import Emission
from kommunepuls.simulator.experiments import (
    ExperimentTrafficConfig,
    experiment_traffic,
    merge,
)
from kommunepuls.simulator.generator import SimConfig, generate
from kommunepuls.storage.db import create_pool

BATCH = 1_000
POST_TIMEOUT_S = 60.0


@dataclass
class FeedStats:
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    simulated_day: date | None = None
    started: float = 0.0

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0


async def feed(
    emissions: Iterator[Emission],
    *,
    ingest_url: str,
    token: str,
    start: datetime,
    speed: float,
    stats: FeedStats,
    set_today: Callable[[date], object] | None = None,
    stop: asyncio.Event | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FeedStats:
    """Post emissions when their simulated send time has come (in batches of ≤ BATCH).

    Retries a failed post with the same event_ids, so a restart of ingest loses nothing.
    """
    # The generator allocates many small objects that live long: collect less often.
    gc.set_threshold(100_000, 50, 100)
    stats.started = time.monotonic()
    stop = stop or asyncio.Event()
    headers = {"Authorization": f"Bearer {token}"}
    pending: list[dict] = []
    async with httpx.AsyncClient(base_url=ingest_url, timeout=POST_TIMEOUT_S,
                                 transport=transport) as client:

        async def flush() -> None:
            while pending and not stop.is_set():
                try:
                    response = await client.post("/v1/events", json=pending, headers=headers)
                    response.raise_for_status()
                except httpx.HTTPError:
                    await asyncio.sleep(1.0)  # ingest away: same batch again, same event_ids
                    continue
                body = response.json()
                stats.sent += len(pending)
                stats.accepted += body["accepted"]
                stats.duplicates += body["duplicates"]
                stats.rejected += body["rejected"]
                pending.clear()

        async def advance_clock(now: datetime) -> None:
            if now.date() != stats.simulated_day:
                stats.simulated_day = now.date()
                if set_today is not None:
                    result = set_today(now.date())
                    if asyncio.iscoroutine(result):
                        await result

        for emission in emissions:
            if stop.is_set():
                break
            if speed > 0:
                wall_due = (emission.emit_at - start).total_seconds() / speed
                while (wait := wall_due - (time.monotonic() - stats.started)) > 0:
                    await flush()
                    await advance_clock(start + _elapsed(stats, speed))
                    await asyncio.sleep(min(wait, 0.25))
            await advance_clock(emission.emit_at)
            pending.append(emission.envelope)
            if len(pending) >= BATCH:
                await flush()
        await flush()
    return stats


def _elapsed(stats: FeedStats, speed: float) -> timedelta:
    return timedelta(seconds=(time.monotonic() - stats.started) * speed)


async def run_simulation(settings: Settings, config: SimConfig, *, ingest_url: str,
                         speed: float, drive_clock: bool,
                         stats: FeedStats | None = None,
                         stop: asyncio.Event | None = None,
                         transport: httpx.AsyncBaseTransport | None = None,
                         experiments: bool = False) -> FeedStats:
    """Post the configured traffic to ingest as a fagsystem for all 98 municipalities;
    with `experiments`, also the frikommune experiments' citizens."""
    token = issue_token(settings.secret("jwt_secret"), subject="simulator", role=Role.fagsystem,
                        municipalities=sorted(municipalities()), ttl_seconds=7 * 24 * 3600)
    pool = await create_pool(settings, max_size=1) if drive_clock else None
    stats = stats or FeedStats()

    async def set_today(day: date) -> None:
        if pool is not None:
            await set_platform_today(pool, day)

    start = datetime.combine(config.start, datetime.min.time())
    try:
        emissions: Iterator[Emission] = generate(config)
        if experiments:
            emissions = merge(emissions, experiment_traffic(ExperimentTrafficConfig(
                seed=config.seed, start=config.start, end=config.end)))
        return await feed(emissions, ingest_url=ingest_url, token=token, start=start,
                          speed=speed, stats=stats, set_today=set_today, stop=stop,
                          transport=transport)
    finally:
        if pool is not None:
            await pool.close()
