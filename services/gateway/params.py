"""Request parameters shared by the indicator routers: dependencies and their validation.

Every check here answers with a problem: an unknown indicator is 404, a period, stratum,
group or municipality that cannot be right for the indicator is 422.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant

from kommunepuls.auth import Principal, Role
from kommunepuls.clock import platform_today
from kommunepuls.domain import indicators as engine
from kommunepuls.domain.catalogue import Population
from kommunepuls.domain.periods import month_index, period_label, period_month
from kommunepuls.reference import is_municipality, municipalities
from kommunepuls.web.problems import PROBLEM_RESPONSES, InvalidRequest, NotFound
from kommunepuls.web.security import current_principal, require_roles
from services.gateway import queries
from services.gateway.figures import ALL, STRATA, Audience, Scope

Reader = Annotated[Principal, Depends(require_roles(Role.municipality, Role.national))]

_CALENDAR = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CURVE = re.compile(r"^m\d{2}$")
MAX_SERIES_MONTHS = 600

# The problems an indicator route can answer with, for the OpenAPI document.
INDICATOR_PROBLEMS = PROBLEM_RESPONSES | {
    404: PROBLEM_RESPONSES[422] | {"description": "No such indicator (or municipality)"}}


def _query_names(dependant: Dependant) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not take: a mistyped `municipality` would
    otherwise quietly answer with the national figure."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    # Kept on the route itself: the names never change once the app is built.
    allowed = getattr(route, "_query_names", None)
    if allowed is None:
        allowed = _query_names(dependant)
        route._query_names = allowed  # type: ignore[union-attr]
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidRequest(f"unknown query parameter(s): {', '.join(map(repr, unknown))}")


# The token first: a caller without a valid one learns nothing about the parameters (router
# dependencies run before a route's own; the check is cached, so it runs once a request).
STRICT_QUERY = [Depends(current_principal), Depends(known_query_only)]


# Dependencies are `async def`: FastAPI runs a plain `def` dependency in a worker thread,
# which costs more than everything else a request does here.
async def audience(request: Request, principal: Reader) -> Audience:
    threshold = request.app.state.settings.suppression_threshold
    return Audience(raw=principal.role is Role.national, threshold=threshold)


Viewer = Annotated[Audience, Depends(audience)]


async def indicator(indicator_id: Annotated[str, Path(
        description="An id from `GET /v1/indicators`.", examples=["fsm_virksomhedsforloeb"],
        json_schema_extra={"enum": [d.id for d in engine.CATALOGUE]})]
              ) -> engine.IndicatorDefinition:
    try:
        return engine.definition(indicator_id)
    except KeyError:
        raise NotFound(f"there is no indicator {indicator_id!r}; see /v1/indicators") from None


Indicator = Annotated[engine.IndicatorDefinition, Depends(indicator)]

MUNICIPALITY_CODES = sorted(municipalities())
MunicipalityQuery = Annotated[str | None, Query(
    description="A kommunekode, or `all` for the country (the default).",
    pattern=r"^(all|\d{3})$", json_schema_extra={"enum": [ALL, *MUNICIPALITY_CODES]},
    examples=["851"])]
StratumQuery = Annotated[str | None, Query(
    description="A stratum of the country: " + ", ".join(f"`{s}`" for s in STRATA)
                + " (with `municipality` absent or `all`).",
    json_schema_extra={"enum": list(STRATA)}, examples=["population:0-25k"])]
# A calendar month, or a month since visitation (m01..m29) for the cohort curve.
PERIOD_PATTERN = r"^(\d{4}-(0[1-9]|1[0-2])|m(0[1-9]|1\d|2\d))$"
PeriodQuery = Annotated[str | None, Query(
    description="`YYYY-MM`, or `m01`..`m29` for the cohort curve. Default: the latest.",
    pattern=PERIOD_PATTERN, examples=["2019-06"])]
GroupQuery = Annotated[int | None, Query(
    ge=1, le=9, description="The programme group (default: the indicator's first).")]
AsOfQuery = Annotated[datetime | None, Query(
    description="The value as known at this time (from the revisions).",
    examples=["2019-07-10T12:00:00Z"])]


def is_curve(definition: engine.IndicatorDefinition) -> bool:
    return definition.population is Population.MONTHS_SINCE_VISITATION


def curve_months(definition: engine.IndicatorDefinition) -> list[str]:
    return [engine.curve_period(m) for m in range(1, (definition.window_months or 0) + 1)]


def check_period(definition: engine.IndicatorDefinition, period: str) -> str:
    if is_curve(definition):
        if not _CURVE.match(period) or period not in curve_months(definition):
            raise InvalidRequest(f"period {period!r}: {definition.id} is a cohort curve; "
                                 f"periods are m01..m{definition.window_months:02d}")
    elif not _CALENDAR.match(period):
        raise InvalidRequest(f"period {period!r} is not a month written YYYY-MM")
    return period


async def default_period(request: Request, definition: engine.IndicatorDefinition,
                         group: int) -> str:
    """The latest period the read models hold, else the platform's current month."""
    pool = request.app.state.pool
    bounds = await queries.period_bounds(pool, definition.id, group)
    if bounds is not None:
        return bounds[1]
    today = await platform_today(request.app.state.settings, pool)
    return period_label(month_index(today))


def check_group(definition: engine.IndicatorDefinition, group: int | None) -> int:
    if group is None:
        return definition.groups[0]
    if group not in definition.groups:
        allowed = ", ".join(map(str, definition.groups))
        raise InvalidRequest(f"{definition.id} is counted for groups {allowed}, not {group}")
    return group


def scope(municipality: str | None, stratum: str | None) -> Scope:
    if stratum is not None:
        # A '+' in a query string is a space: 'population:50k+' arrives as 'population:50k '.
        stratum = stratum.strip()
        if stratum == "population:50k":
            stratum = "population:50k+"
        if stratum not in STRATA:
            raise InvalidRequest(f"stratum {stratum!r} is not one of {', '.join(STRATA)}")
        if municipality not in (None, ALL):
            raise InvalidRequest("a stratum is a part of the country: leave out municipality "
                                 "or give municipality=all")
        return Scope(ALL, stratum)
    if municipality is None or municipality == ALL:
        return Scope(ALL)
    if not is_municipality(municipality):
        raise InvalidRequest(f"{municipality!r} is not a kommunekode")
    return Scope(municipality)


def aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def months_between(first: str, last: str) -> list[str]:
    lo, hi = period_month(first), period_month(last)
    if lo > hi:
        raise InvalidRequest(f"from ({first}) is after to ({last})")
    if hi - lo >= MAX_SERIES_MONTHS:
        raise InvalidRequest(f"a series spans at most {MAX_SERIES_MONTHS} months")
    return [period_label(m) for m in range(lo, hi + 1)]
