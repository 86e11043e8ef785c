"""GET /v1/experiments/{id}/overdue?municipality=CODE: a municipality's overdue list.

The experiment's members in one municipality who are behind on a deadline of one of the
experiment's rule families (kommunepuls/experiments/deadlines.py), one row per overdue
deadline, the longest overdue first. It shows individual citizens (by pseudonym), so like
the work list it is for the municipality's own staff only — never another municipality,
never the national role — and every attempt, granted or denied, is written to the same
`worklist_access` audit table (indicator `experiment:<id>:overdue`, period = the day).
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from kommunepuls.auth import Principal, Role
from kommunepuls.clock import platform_today
from kommunepuls.domain.records import StoredEvent
from kommunepuls.experiments.citizen import read_citizen
from kommunepuls.experiments.deadlines import citizen_deadlines
from kommunepuls.experiments.membership import members
from kommunepuls.experiments.registry import Experiment
from kommunepuls.reference import is_municipality
from kommunepuls.storage.event_store import stored_from_row
from kommunepuls.web.problems import AccessDenied, NotFound
from kommunepuls.web.security import current_principal
from services.gateway import queries
from services.gateway.experiments import _EVENTS, PROBLEMS, ExperimentId, _entry
from services.gateway.params import MUNICIPALITY_CODES
from services.gateway.worklist import _case_ref

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

# Any valid token reaches the handler, so that a refused attempt is audited too.
Caller = Annotated[Principal, Depends(current_principal)]
MunicipalityQuery = Annotated[str, Query(
    pattern=r"^\d{3}$", examples=["851"], description="The caller's own kommunekode.",
    json_schema_extra={"enum": MUNICIPALITY_CODES})]


class OverdueRow(BaseModel):
    citizen_id: str
    case_ref: str | None  # the citizen's last case reference in the municipality, if any
    family: str
    rule: str  # the rule version that laid the deadline down
    variant: str  # ordinary | experiment
    due: date
    days_overdue: int  # today - due


class OverdueOut(BaseModel):
    experiment: str
    municipality: str
    today: date
    citizens: int  # distinct citizens in the rows
    rows: list[OverdueRow]


def overdue_rows(entry: Experiment, events_by_citizen: dict[str, list[StoredEvent]],
                 municipality: str, today: date) -> list[OverdueRow]:
    """Pure: every overdue deadline in `municipality` of the experiment's members there."""
    rows = []
    for citizen_id, events in sorted(events_by_citizen.items()):
        person = read_citizen(events)
        if not any(m.municipality == municipality for m in members(entry, person, today)):
            continue
        case_ref = _case_ref(events, municipality)
        for family in entry.rule_families:
            for d in citizen_deadlines(person, family, today).deadlines:
                if d.status != "overdue" or d.municipality != municipality:
                    continue
                rows.append(OverdueRow(citizen_id=citizen_id, case_ref=case_ref,
                                       family=family, rule=d.rule, variant=d.variant,
                                       due=d.due, days_overdue=(today - d.due).days))
    return sorted(rows, key=lambda r: (-r.days_overdue, r.citizen_id, r.family))


@router.get("/{experiment_id}/overdue", response_model=OverdueOut, responses=PROBLEMS,
            summary="Own members behind on a deadline of the experiment's rules (audited)")
async def get_overdue(request: Request, experiment_id: ExperimentId, caller: Caller,
                      municipality: MunicipalityQuery) -> OverdueOut:
    if not is_municipality(municipality):
        raise NotFound(f"{municipality!r} is not a kommunekode")
    pool = request.app.state.pool
    today = await platform_today(request.app.state.settings, pool)
    audit = {"subject": caller.subject, "role": caller.role.value,
             "municipality": municipality, "indicator": f"experiment:{experiment_id}:overdue",
             "period": today.isoformat()}
    # Access before anything else about the request, so every refused attempt is audited.
    if caller.role is not Role.municipality or municipality not in caller.municipalities:
        await queries.record_worklist_access(pool, **audit, outcome="denied", citizens=None)
        raise AccessDenied(f"the overdue list of {municipality} is for its own staff only "
                           "(role municipality with this municipality in the token)")
    entry = _entry(experiment_id)
    by_citizen: dict[str, list[StoredEvent]] = {}
    for row in await pool.fetch(_EVENTS, [municipality]):
        event = stored_from_row(row)
        by_citizen.setdefault(event.citizen_id, []).append(event)
    rows = await asyncio.to_thread(overdue_rows, entry, by_citizen, municipality, today)
    shown = len({r.citizen_id for r in rows})
    await queries.record_worklist_access(pool, **audit, outcome="granted", citizens=shown)
    return OverdueOut(experiment=entry.id, municipality=municipality, today=today,
                      citizens=shown, rows=rows)
