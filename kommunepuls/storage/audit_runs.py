"""Runs of `kommunepuls audit` (migration 0009): what the gateway reads to tell when the
read models last passed, without the audit's own machinery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class AuditRun:
    """The newest recorded run (migration 0009), and when a run last passed."""

    finished_at: datetime
    passed: bool
    citizens: int
    settled: int
    in_flight: int
    stuck: int
    wrong: int
    inconsistent: int
    last_passed_at: datetime | None


async def latest_run(pool: asyncpg.Pool) -> AuditRun | None:
    row = await pool.fetchrow(
        """SELECT finished_at, passed, citizens, settled, in_flight, stuck, wrong, inconsistent,
                  (SELECT max(finished_at) FROM audit_runs WHERE passed) AS last_passed_at
           FROM audit_runs ORDER BY id DESC LIMIT 1""")
    return None if row is None else AuditRun(**dict(row))
