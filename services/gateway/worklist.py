"""GET /v1/municipalities/{code}/worklist: the own citizens who pull the indicator down.

The only route that shows individual citizens (by pseudonym), so it is for the
municipality's own staff only — never another municipality, never the national role — and
every attempt, granted or denied, is written to `worklist_access` (readable by national at
GET /v1/worklist-access). Which citizens: those whose current cells, as the metrics worker
holds them, count in the group-1 denominator but not the numerator. Their caseworker, case
reference and last activity come from folding their own events — a few citizens, not a
recompute.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from kommunepuls.auth import Principal, Role
from kommunepuls.clock import platform_today
from kommunepuls.domain import indicators as engine
from kommunepuls.domain.catalogue import Population
from kommunepuls.domain.citizen_view import CitizenView
from kommunepuls.domain.periods import last_day, period_month
from kommunepuls.domain.records import StoredEvent
from kommunepuls.reference import is_municipality
from kommunepuls.storage.event_store import read_citizens
from kommunepuls.web.problems import PROBLEM_RESPONSES, AccessDenied, InvalidRequest, NotFound
from kommunepuls.web.security import current_principal, require_roles
from services.gateway import queries
from services.gateway.models import (
    CaseworkerWorklist,
    WorklistAccess,
    WorklistCitizen,
    WorklistOut,
)
from services.gateway.params import INDICATOR_PROBLEMS, MUNICIPALITY_CODES, STRICT_QUERY

router = APIRouter(prefix="/v1", tags=["worklist"], dependencies=STRICT_QUERY)

# Any valid token reaches the handler, so that a refused attempt is audited too.
Caller = Annotated[Principal, Depends(current_principal)]
Auditor = Annotated[Principal, Depends(require_roles(Role.national))]
WORKLIST_GROUP = 1

CodePath = Annotated[str, Path(pattern=r"^\d{3}$", examples=["851"],
                                json_schema_extra={"enum": MUNICIPALITY_CODES})]
WorklistIndicator = Annotated[str, Query(
    description="An indicator counted over group-1 members on a reference day.",
    examples=["fsm_virksomhedsforloeb"],
    json_schema_extra={"enum": [d.id for d in engine.CATALOGUE
                                if d.population is Population.MEMBERS]})]
MonthQuery = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2019-06"])]


def _definition(indicator: str) -> engine.IndicatorDefinition:
    try:
        definition = engine.definition(indicator)
    except KeyError:
        raise NotFound(f"there is no indicator {indicator!r}; see /v1/indicators") from None
    if definition.population is not Population.MEMBERS or WORKLIST_GROUP not in definition.groups:
        raise InvalidRequest(f"{indicator} has no work list: it does not count group-1 members "
                             "on a reference day")
    return definition


def last_activity(view: CitizenView, definition: engine.IndicatorDefinition,
                  municipality: str, reference: date) -> date | None:
    """The last day, on or before the reference day, with what the numerator looks for."""
    found = None
    for first, last in view.activity(definition, municipality).days.spans():
        if first > reference.toordinal():
            break
        found = min(last, reference.toordinal())
    return None if found is None else date.fromordinal(found)


def _case_ref(events: list[StoredEvent], municipality: str) -> str | None:
    refs = [e.case_ref for e in events if e.case_ref and e.municipality == municipality]
    return refs[-1] if refs else None


def worklist_entries(events_by_citizen: dict[str, list[StoredEvent]],
                     definition: engine.IndicatorDefinition, municipality: str,
                     reference: date, today: date) -> list[CaseworkerWorklist]:
    """Pure: the citizens grouped by caseworker (by id, none last), longest idle first."""
    by_caseworker: dict[str | None, list[WorklistCitizen]] = {}
    for citizen_id, events in events_by_citizen.items():
        state = engine.fold(events)
        active = last_activity(CitizenView(state, today), definition, municipality, reference)
        caseworker = state.caseworker_on(reference)
        by_caseworker.setdefault(caseworker, []).append(WorklistCitizen(
            citizen_id=citizen_id, case_ref=_case_ref(events, municipality),
            caseworker_id=caseworker, last_activity_on=active,
            days_since_last_activity=None if active is None else (reference - active).days))
    groups = []
    for caseworker in sorted(by_caseworker, key=lambda c: (c is None, c or "")):
        # Never active first, then the longest since the last activity.
        citizens = sorted(by_caseworker[caseworker], key=lambda c: (
            c.days_since_last_activity is not None, -(c.days_since_last_activity or 0),
            c.citizen_id))
        groups.append(CaseworkerWorklist(caseworker_id=caseworker, citizens=citizens))
    return groups


@router.get(
    "/municipalities/{code}/worklist", response_model=WorklistOut,
    responses=INDICATOR_PROBLEMS,
    summary="Own group-1 citizens not in the numerator, by caseworker (audited)")
async def worklist(request: Request, code: CodePath, caller: Caller, period: MonthQuery,
                   indicator: WorklistIndicator = "fsm_virksomhedsforloeb") -> WorklistOut:
    if not is_municipality(code):
        raise NotFound(f"{code!r} is not a kommunekode")
    pool = request.app.state.pool
    audit = {"subject": caller.subject, "role": caller.role.value, "municipality": code,
             "indicator": indicator, "period": period}
    # Access before anything else about the request, so every refused attempt is audited.
    if caller.role is not Role.municipality or code not in caller.municipalities:
        await queries.record_worklist_access(pool, **audit, outcome="denied", citizens=None)
        raise AccessDenied(f"the work list of {code} is for its own staff only "
                           "(role municipality with this municipality in the token)")
    definition = _definition(indicator)
    today = await platform_today(request.app.state.settings, pool)
    reference = min(last_day(period_month(period)), today)
    ids = await queries.worklist_citizens(pool, definition.id, code, period, WORKLIST_GROUP)
    events = await read_citizens(pool, ids)
    groups = worklist_entries(events, definition, code, reference, today)
    await queries.record_worklist_access(pool, **audit, outcome="granted", citizens=len(ids))
    return WorklistOut(municipality=code, indicator=definition.id, period=period,
                       group=WORKLIST_GROUP, reference_day=reference, citizens=len(ids),
                       caseworkers=groups)


@router.get("/worklist-access", response_model=list[WorklistAccess],
            responses=PROBLEM_RESPONSES,
            summary="The audit log of work-list access, newest first (national only)")
async def worklist_access(
        request: Request, _: Auditor,
        municipality: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[WorklistAccess]:
    rows = await queries.worklist_accesses(request.app.state.pool, municipality, limit)
    return [WorklistAccess(**dict(r)) for r in rows]
