"""GET /v1/status: how fresh the numbers are."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from kommunepuls.auth import Principal, Role
from kommunepuls.web.problems import PROBLEM_RESPONSES
from kommunepuls.web.security import require_roles

router = APIRouter(prefix="/v1", tags=["status"])
StatusReader = Annotated[Principal, Depends(require_roles(Role.ops, Role.national))]


class StoreStatus(BaseModel):
    position: int
    newest_recorded_at: datetime | None


class Status(BaseModel):
    store: StoreStatus
    checkpoints: dict[str, int]
    lag_events: dict[str, int]


@router.get("/status", response_model=Status, responses=PROBLEM_RESPONSES,
            summary="Freshness of the event store and the readers that follow it")
async def status(request: Request, _: StatusReader) -> Status:
    pool = request.app.state.pool
    head = await pool.fetchval("SELECT position FROM event_store_head")
    newest = await pool.fetchval(
        "SELECT recorded_at FROM events WHERE position = (SELECT position FROM event_store_head)")
    rows = await pool.fetch("SELECT name, position FROM checkpoints ORDER BY name")
    checkpoints = {r["name"]: r["position"] for r in rows}
    return Status(store=StoreStatus(position=head, newest_recorded_at=newest),
                  checkpoints=checkpoints,
                  lag_events={name: head - pos for name, pos in checkpoints.items()})
