"""The demo's one-screen summary: throughput, lag, the national 40 % criterion."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import asyncpg
from rich.table import Table

from kommunepuls.domain.catalogue import definition
from kommunepuls.domain.periods import month_index, period_label
from kommunepuls.domain.values import indicator_value

CRITERION = "fsm_virksomhedsforloeb"


@dataclass
class Snapshot:
    at: float
    head: int
    relayed: int
    through: int
    today: date | None
    period: str | None
    national_pct: float | None
    below_target: int
    municipalities: int


async def take(pool: asyncpg.Pool, partitions: int) -> Snapshot:
    head = await pool.fetchval("SELECT position FROM event_store_head")
    relayed = await pool.fetchval(
        "SELECT coalesce(max(position), 0) FROM checkpoints WHERE name = 'relay:case-events'")
    rows = await pool.fetch("SELECT position FROM checkpoints WHERE name LIKE 'metrics:p%'")
    through = min((r["position"] for r in rows), default=0) if len(rows) >= partitions else 0
    today = await pool.fetchval("SELECT today FROM platform_clock")
    # The last finished month is the one a monitor reads; the current one is provisional.
    period = period_label(month_index(today) - 1) if today else None
    national_pct, below, counted = None, 0, 0
    if period:
        cells = await pool.fetch(
            """SELECT municipality, sum(numerator)::int AS n, sum(denominator)::int AS d
               FROM indicator_counts WHERE indicator = $1 AND period = $2
               GROUP BY municipality""", CRITERION, period)
        target = definition(CRITERION).target
        n = sum(r["n"] for r in cells)
        d = sum(r["d"] for r in cells)
        national_pct = indicator_value(n, d, target).value_pct if d else None
        for r in cells:
            if r["d"] >= 5:
                counted += 1
                below += not indicator_value(r["n"], r["d"], target).met
    return Snapshot(time.monotonic(), head, relayed, through, today, period, national_pct,
                    below, counted)


def render(now: Snapshot, before: Snapshot | None) -> Table:
    rate = 0.0
    if before is not None and now.at > before.at:
        rate = (now.head - before.head) / (now.at - before.at)
    table = Table(title="Kommunepuls — live", show_header=False, min_width=60)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("simulated day", now.today.isoformat() if now.today else "-")
    table.add_row("events stored", f"{now.head:,}  ({rate:,.0f}/s)")
    table.add_row("lag relay / read models", f"{now.head - now.relayed:,} / "
                                             f"{max(0, now.head - now.through):,} events")
    pct = "-" if now.national_pct is None else f"{now.national_pct:.1f} %"
    table.add_row(f"40 % criterion, national ({now.period or '-'})", pct)
    table.add_row("municipalities below 40 %",
                  f"{now.below_target} of {now.municipalities} (with ≥ 5 in group 1)")
    return table
