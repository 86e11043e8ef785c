"""GET /v1/status: how fresh the numbers are, and which component is behind."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from kommunepuls.auth import Principal, Role
from kommunepuls.storage.audit_runs import latest_run
from kommunepuls.web.problems import PROBLEM_RESPONSES
from kommunepuls.web.security import require_roles
from services.gateway.freshness import Freshness
from services.gateway.params import STRICT_QUERY

router = APIRouter(prefix="/v1", tags=["status"], dependencies=STRICT_QUERY)
StatusReader = Annotated[Principal, Depends(require_roles(Role.ops, Role.national))]

# The lag alert's threshold (deploy/prometheus/alerts.yml): behind for longer is unhealthy.
BEHIND_SECONDS = 300.0


class StoreStatus(BaseModel):
    position: int
    newest_recorded_at: datetime | None


class ReadModelStatus(BaseModel):
    through: int = Field(description="Every event up to here is reflected in the indicators.")
    lag_events: int
    lag_seconds: float = Field(description="How long the oldest unreflected event has waited.")


class ComponentStatus(BaseModel):
    name: str
    health: Literal["ok", "behind"]
    position: int
    updated_at: datetime | None


class AuditStatus(BaseModel):
    """The newest run of `kommunepuls audit` (nightly): the live read models checked while
    traffic runs. Counts are citizens, except `inconsistent` (cells)."""

    finished_at: datetime
    passed: bool
    last_passed_at: datetime | None = Field(description="When a run last passed.")
    citizens: int
    settled: int = Field(description="Evaluated through their newest event, and equal to "
                                     "a fresh fold of their history.")
    in_flight: int = Field(description="With events younger than the settle time, not yet "
                                       "evaluated.")
    stuck: int = Field(description="With an event older than the settle time never "
                                   "evaluated: lost on the way.")
    wrong: int = Field(description="Settled, but with other cells than a fresh fold.")
    inconsistent: int = Field(description="Counts that differ from the citizens' rows.")


class Status(BaseModel):
    store: StoreStatus
    read_models: ReadModelStatus | None
    audit: AuditStatus | None = Field(description="None until an audit has run.")
    components: list[ComponentStatus]
    checkpoints: dict[str, int]
    lag_events: dict[str, int] = Field(
        description="Head minus each checkpoint. A metrics partition only moves when its own "
                    "citizens' events arrive, so a quiet one can trail without being behind; "
                    "read_models is the exact answer.")


def _components(rows: list, head: int, freshness: Freshness | None,
                now: datetime) -> list[ComponentStatus]:
    out = []
    for row in rows:
        name = row["name"]
        if name.startswith("metrics:"):
            continue  # reported as one component below: their partitions move unevenly
        idle = (now - row["updated_at"]).total_seconds() if row["updated_at"] else 0.0
        behind = row["position"] < head and idle > BEHIND_SECONDS
        out.append(ComponentStatus(name=name, health="behind" if behind else "ok",
                                   position=row["position"], updated_at=row["updated_at"]))
    if freshness is not None:
        metrics_rows = [r for r in rows if r["name"].startswith("metrics:")]
        out.append(ComponentStatus(
            name="metrics", health="behind" if freshness.lag_seconds > BEHIND_SECONDS else "ok",
            position=freshness.through,
            updated_at=max((r["updated_at"] for r in metrics_rows), default=None)))
    return out


@router.get("/status", response_model=Status, responses=PROBLEM_RESPONSES,
            summary="Freshness of the event store and the readers that follow it")
async def status(request: Request, _: StatusReader) -> Status:
    pool = request.app.state.pool
    cached = getattr(request.app.state, "freshness", None)
    freshness = await cached.get() if cached is not None else None
    head = await pool.fetchval("SELECT position FROM event_store_head")
    newest = await pool.fetchval(
        "SELECT recorded_at FROM events WHERE position = (SELECT position FROM event_store_head)")
    rows = await pool.fetch("SELECT name, position, updated_at FROM checkpoints ORDER BY name")
    checkpoints = {r["name"]: r["position"] for r in rows}
    read_models = None if freshness is None else ReadModelStatus(
        through=freshness.through, lag_events=freshness.lag_events,
        lag_seconds=freshness.lag_seconds)
    audited = await latest_run(pool)
    return Status(store=StoreStatus(position=head, newest_recorded_at=newest),
                  read_models=read_models,
                  audit=None if audited is None else AuditStatus(**asdict(audited)),
                  components=_components(list(rows), head, freshness, datetime.now(UTC)),
                  checkpoints=checkpoints,
                  lag_events={name: head - pos for name, pos in checkpoints.items()})
