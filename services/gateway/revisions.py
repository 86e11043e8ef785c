"""GET /v1/indicators/{id}/revisions: every change of one municipality's cell, oldest first.

"What did we report for March as known on 10 April" is the revision in force then. The
history is detail of one municipality: a municipality role sees its own municipalities'
only (suppressed like every other figure), the national role every one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from kommunepuls.auth import Role
from kommunepuls.reference import is_municipality
from kommunepuls.web.problems import AccessDenied, InvalidRequest
from services.gateway import queries
from services.gateway.models import RevisionOut, RevisionsOut
from services.gateway.params import (
    INDICATOR_PROBLEMS,
    MUNICIPALITY_CODES,
    PERIOD_PATTERN,
    STRICT_QUERY,
    GroupQuery,
    Indicator,
    Reader,
    Viewer,
    check_group,
    check_period,
)

router = APIRouter(prefix="/v1/indicators", tags=["indicator values"], dependencies=STRICT_QUERY)

CodeQuery = Annotated[str, Query(pattern=r"^\d{3}$", description="A kommunekode.",
                                 json_schema_extra={"enum": MUNICIPALITY_CODES},
                                 examples=["851"])]
RequiredPeriod = Annotated[str, Query(pattern=PERIOD_PATTERN,
                                      description="`YYYY-MM` (or `mNN` for the curve).",
                                      examples=["2019-06"])]


@router.get(
    "/{indicator_id}/revisions", response_model=RevisionsOut, responses=INDICATOR_PROBLEMS,
    summary="The history of one municipality's value: every change, oldest first")
async def revisions(request: Request, definition: Indicator, principal: Reader,
                    viewer: Viewer, municipality: CodeQuery, period: RequiredPeriod,
                    group: GroupQuery = None) -> RevisionsOut:
    if not is_municipality(municipality):
        raise InvalidRequest(f"{municipality!r} is not a kommunekode")
    if principal.role is not Role.national and not principal.may_act_for(municipality):
        raise AccessDenied(f"the revision history of {municipality} is for its own staff "
                           "and the national role")
    chosen_group = check_group(definition, group)
    check_period(definition, period)
    rows = await queries.revisions(request.app.state.pool, definition.id, municipality,
                                   period, chosen_group)
    out = []
    for row in rows:
        shown = viewer.value(row.numerator, row.denominator, definition.target)
        out.append(RevisionOut(
            numerator=shown.numerator, denominator=shown.denominator, value=shown.value,
            value_pct=shown.value_pct, met=shown.met, suppressed=shown.suppressed,
            events_through=row.events_through, recorded_at=row.recorded_at))
    return RevisionsOut(indicator=definition.id, municipality=municipality, period=period,
                        group=chosen_group, rule_set_version=definition.rule_set_version,
                        revisions=out)
