"""The platform's "today": fixed by settings, driven by a simulator, or the real date.

Indicators are evaluated "as of today" (open spells run until today, the current period is
provisional), so every evaluator — live and batch — must ask the same clock.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from kommunepuls.config import Settings


async def platform_today(settings: Settings, conn: asyncpg.Connection | asyncpg.Pool) -> date:
    if settings.today is not None:
        return settings.today
    simulated = await conn.fetchval("SELECT today FROM platform_clock")
    return simulated if simulated is not None else date.today()


async def set_platform_today(conn: asyncpg.Connection | asyncpg.Pool, today: date) -> None:
    await conn.execute(
        """INSERT INTO platform_clock (id, today, updated_at) VALUES (true, $1, now())
           ON CONFLICT (id) DO UPDATE SET today = EXCLUDED.today, updated_at = now()""", today)
