"""The gateway's SQL: reads of the metrics read models, the event store and the audit log.

A cell's pooled value is the sum of its rows in `indicator_counts`: one row since
migration 0006 (the metrics workers add to it), and summing keeps any older rows right. So
every read here is an index lookup and a small sum; nothing is recomputed from events
except a worklist's few citizens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeAlias

import asyncpg

from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell, Part
from kommunepuls.facts import pack

Pool: TypeAlias = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True, slots=True)
class CellRow:
    """A municipality's pooled counts for one period (summed over metrics partitions)."""

    municipality: str
    period: str
    numerator: int
    denominator: int
    events_through: int
    computed_at: datetime | None


# Calendar periods ('2019-06') sort before the cohort curve's months ('m01'): a range
# condition, unlike LIKE, lets the (indicator, period) index find the first and the last.
_CALENDAR = "period < 'a'"

_LIVE = """
SELECT municipality, period, sum(numerator)::int AS n, sum(denominator)::int AS d,
       max(events_through) AS through, max(computed_at) AS at
FROM indicator_counts
WHERE indicator = $1 AND grp = $2 AND period = ANY($3::text[]) {where}
GROUP BY municipality, period"""

# The latest revision per cell recorded by `as_of`: what the API would have answered then.
_AS_OF = """
SELECT DISTINCT ON (municipality, period) municipality, period, numerator AS n,
       denominator AS d, events_through AS through, recorded_at AS at
FROM indicator_revisions
WHERE indicator = $1 AND grp = $2 AND period = ANY($3::text[]) AND recorded_at <= $4 {where}
ORDER BY municipality, period, id DESC"""

# Two statements rather than "municipality = $n OR $n IS NULL": a prepared statement's
# generic plan could then not use the primary key for the single-municipality case.
_LIVE_ALL = _LIVE.format(where="")
_LIVE_ONE = _LIVE.format(where="AND municipality = $4")
_AS_OF_ALL = _AS_OF.format(where="")
_AS_OF_ONE = _AS_OF.format(where="AND municipality = $5")


async def cells(pool: Pool, indicator: str, group: int, periods: Sequence[str], *,
                municipality: str | None = None,
                as_of: datetime | None = None) -> list[CellRow]:
    """Pooled counts per (municipality, period); cells without citizens have no row."""
    periods = list(periods)
    if as_of is None:
        rows = await (pool.fetch(_LIVE_ALL, indicator, group, periods) if municipality is None
                      else pool.fetch(_LIVE_ONE, indicator, group, periods, municipality))
    else:
        rows = await (pool.fetch(_AS_OF_ALL, indicator, group, periods, as_of)
                      if municipality is None
                      else pool.fetch(_AS_OF_ONE, indicator, group, periods, as_of, municipality))
    return [CellRow(r["municipality"], r["period"], r["n"], r["d"], r["through"], r["at"])
            for r in rows]


async def period_bounds(pool: Pool, indicator: str, group: int) -> tuple[str, str] | None:
    """The first and last calendar period the read models hold for an indicator."""
    row = await pool.fetchrow(
        f"""SELECT min(period) AS lo, max(period) AS hi FROM indicator_counts
            WHERE indicator = $1 AND grp = $2 AND {_CALENDAR}""", indicator, group)
    return None if row["hi"] is None else (row["lo"], row["hi"])


@dataclass(frozen=True, slots=True)
class RevisionRow:
    numerator: int
    denominator: int
    events_through: int
    recorded_at: datetime


async def revisions(pool: Pool, indicator: str, municipality: str, period: str,
                    group: int) -> list[RevisionRow]:
    rows = await pool.fetch(
        """SELECT numerator, denominator, events_through, recorded_at FROM indicator_revisions
           WHERE indicator = $1 AND municipality = $2 AND period = $3 AND grp = $4
           ORDER BY id""", indicator, municipality, period, group)
    return [RevisionRow(r["numerator"], r["denominator"], r["events_through"], r["recorded_at"])
            for r in rows]


async def worklist_citizens(pool: Pool, indicator: str, municipality: str, period: str,
                            group: int) -> list[str]:
    """Citizens whose current cells hold the denominator but not the numerator."""
    def packed(part: Part) -> list[int]:
        return [pack(Cell(indicator, municipality, period, group, part))]

    # `cells` holds each citizen's cells packed into integers (kommunepuls/facts.py).
    rows = await pool.fetch(
        """SELECT citizen_id FROM citizen_contributions
           WHERE cells @> $1::bigint[] AND NOT cells @> $2::bigint[] ORDER BY citizen_id""",
        packed(DENOMINATOR), packed(NUMERATOR))
    return [r["citizen_id"] for r in rows]


async def record_worklist_access(pool: Pool, *, subject: str, role: str, municipality: str,
                                 indicator: str, period: str, outcome: str,
                                 citizens: int | None) -> None:
    await pool.execute(
        """INSERT INTO worklist_access (subject, role, municipality, indicator, period, outcome,
                                        citizens)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        subject, role, municipality, indicator, period, outcome, citizens)


async def worklist_accesses(pool: Pool, municipality: str | None,
                            limit: int) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT accessed_at, subject, role, municipality, indicator, period, outcome, citizens
           FROM worklist_access WHERE $1::text IS NULL OR municipality = $1
           ORDER BY id DESC LIMIT $2""", municipality, limit)


@dataclass(frozen=True, slots=True)
class StoreFreshness:
    head: int
    checkpoints: dict[int, int]  # metrics partition -> position its read models reflect
    pending: list[tuple[int, str, datetime]]  # (position, citizen_id, recorded_at) after min


async def store_freshness(pool: Pool, partitions: int, scan: int) -> StoreFreshness:
    """The head, the metrics checkpoints, and up to `scan` events after the lowest of them."""
    head = int(await pool.fetchval("SELECT position FROM event_store_head"))
    rows = await pool.fetch(
        "SELECT name, position FROM checkpoints WHERE name LIKE 'metrics:p%'")
    reached = {r["name"]: int(r["position"]) for r in rows}
    checkpoints = {p: reached.get(f"metrics:p{p}", 0) for p in range(partitions)}
    low = min(checkpoints.values(), default=head)
    pending = []
    if low < head:
        pending = [(r["position"], r["citizen_id"], r["recorded_at"]) for r in await pool.fetch(
            """SELECT position, citizen_id, recorded_at FROM events WHERE position > $1
               ORDER BY position LIMIT $2""", low, scan)]
    return StoreFreshness(head, checkpoints, pending)


async def latest_counts(pool: Pool, indicators: Sequence[str]) -> list[asyncpg.Record]:
    """Pooled counts of each indicator's latest calendar period, every municipality and group."""
    return await pool.fetch(
        f"""WITH latest AS (
                SELECT i.id AS indicator,
                       (SELECT max(c.period) FROM indicator_counts c
                        WHERE c.indicator = i.id AND c.{_CALENDAR}) AS period
                FROM unnest($1::text[]) AS i(id))
            SELECT c.indicator, c.period, c.municipality, c.grp,
                   sum(c.numerator)::int AS n, sum(c.denominator)::int AS d
            FROM indicator_counts c JOIN latest l
              ON c.indicator = l.indicator AND c.period = l.period
            GROUP BY c.indicator, c.period, c.municipality, c.grp""", list(indicators))


async def read_model_watermark(pool: Pool) -> tuple[tuple[str, ...], date | None]:
    """Changes whenever the read models may have: every metrics flush rewrites its partition's
    checkpoint row (position, and `updated_at` = its transaction's start) in the transaction
    that writes the counts; the platform clock decides default periods when there are none."""
    row = await pool.fetchrow(
        """SELECT (SELECT array_agg((name, position, updated_at)::text ORDER BY name)
                   FROM checkpoints WHERE name LIKE 'metrics:p%') AS metrics,
                  (SELECT today FROM platform_clock) AS clock""")
    return tuple(row["metrics"] or ()), row["clock"]
