"""GET /v1/indicators/{id}/values and /series: one cell, a cohort curve, or cells by period.

Reads the metrics read models only (a few rows per cell); suppression is applied for every
role but national, after pooling.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from kommunepuls.domain.catalogue import IndicatorDefinition
from kommunepuls.web.problems import InvalidRequest
from services.gateway.csv_format import CSV_RESPONSE, csv_response, fields, wants_csv
from services.gateway.figures import latest_at, point_out, pooled, value_out
from services.gateway.models import CurveOut, CurvePoint, IndicatorValueOut, SeriesOut
from services.gateway.params import (
    INDICATOR_PROBLEMS,
    PERIOD_PATTERN,
    STRICT_QUERY,
    AsOfQuery,
    GroupQuery,
    Indicator,
    MunicipalityQuery,
    PeriodQuery,
    StratumQuery,
    Viewer,
    aware,
    check_group,
    check_period,
    curve_months,
    default_period,
    is_curve,
    months_between,
    scope,
)
from services.gateway.queries import period_bounds
from services.gateway.responses import json_response

router = APIRouter(prefix="/v1/indicators", tags=["indicator values"], dependencies=STRICT_QUERY)

VALUE_COLUMNS = fields(IndicatorValueOut)
POINT_COLUMNS = fields(CurvePoint)


async def _through(request: Request) -> int:
    # Read before the counts: positions only grow, so the counts reflect at least this.
    return (await request.app.state.freshness.get()).through


@router.get(
    "/{indicator_id}/values", response_model=IndicatorValueOut | CurveOut,
    responses=INDICATOR_PROBLEMS | CSV_RESPONSE,
    summary="One indicator value; for the cohort curve without a period, all its points",
    description="`municipality=all` (default) gives the country, `stratum` a part of it, "
                "`as_of` the value as known then. For `fsm_virksomhedsforloeb_curve` without "
                "`period`, the curve: months 1..29 since visitation.")
async def values(request: Request, definition: Indicator, viewer: Viewer,
                 municipality: MunicipalityQuery = None, stratum: StratumQuery = None,
                 period: PeriodQuery = None, group: GroupQuery = None,
                 as_of: AsOfQuery = None) -> Response:
    where = scope(municipality, stratum)
    chosen_group = check_group(definition, group)
    as_of = aware(as_of)
    through = await _through(request)
    pool = request.app.state.pool
    if is_curve(definition) and period is None:
        months = curve_months(definition)
        counts = await pooled(pool, definition, chosen_group, months, where, as_of)
        points = [point_out(m, counts[p], viewer) for m, p in enumerate(months, start=1)]
        if wants_csv(request):
            return csv_response(points, POINT_COLUMNS, f"{definition.id}-curve")
        return json_response(CurveOut(
            indicator=definition.id, municipality=where.municipality, stratum=where.stratum,
            group=chosen_group,
            events_through=(max(c.events_through for c in counts.values())
                            if as_of is not None else through),
            computed_at=latest_at(counts.values()), as_of=as_of,
            rule_set_version=definition.rule_set_version, points=points))
    chosen = (check_period(definition, period) if period is not None
              else await default_period(request, definition, chosen_group))
    counts = await pooled(pool, definition, chosen_group, [chosen], where, as_of)
    value = value_out(definition, where, chosen, chosen_group, counts[chosen], viewer,
                      events_through=through, as_of=as_of)
    if wants_csv(request):
        return csv_response([value], VALUE_COLUMNS, f"{definition.id}-{chosen}")
    return json_response(value)


FromQuery = Annotated[str | None, Query(
    alias="from", pattern=PERIOD_PATTERN,
    description="First period (default: the first the read models hold).",
    examples=["2018-01"])]
ToQuery = Annotated[str | None, Query(
    pattern=PERIOD_PATTERN,
    description="Last period, inclusive (default: the latest).", examples=["2019-08"])]


async def _series_periods(request: Request, definition: IndicatorDefinition, group: int,
                          first: str | None, last: str | None) -> list[str]:
    if first is not None:
        check_period(definition, first)
    if last is not None:
        check_period(definition, last)
    if is_curve(definition):
        months = curve_months(definition)
        lo = months.index(first) if first else 0
        hi = months.index(last) if last else len(months) - 1
        if lo > hi:
            raise InvalidRequest(f"from ({first}) is after to ({last})")
        return months[lo:hi + 1]
    if first is None or last is None:
        bounds = await period_bounds(request.app.state.pool, definition.id, group)
        if bounds is None:
            fallback = first or last or await default_period(request, definition, group)
            bounds = (fallback, fallback)
        first = first or min(bounds[0], last or bounds[0])
        last = last or max(bounds[1], first)
    return months_between(first, last)


@router.get(
    "/{indicator_id}/series", response_model=SeriesOut,
    responses=INDICATOR_PROBLEMS | CSV_RESPONSE,
    summary="The indicator for every period from `from` to `to` (inclusive)")
async def series(request: Request, definition: Indicator, viewer: Viewer,
                 municipality: MunicipalityQuery = None, stratum: StratumQuery = None,
                 first: FromQuery = None, to: ToQuery = None, group: GroupQuery = None,
                 as_of: AsOfQuery = None) -> Response:
    where = scope(municipality, stratum)
    chosen_group = check_group(definition, group)
    as_of = aware(as_of)
    periods = await _series_periods(request, definition, chosen_group, first, to)
    through = await _through(request)
    counts = await pooled(request.app.state.pool, definition, chosen_group, periods, where,
                          as_of)
    out = [value_out(definition, where, p, chosen_group, counts[p], viewer,
                     events_through=through, as_of=as_of) for p in periods]
    if wants_csv(request):
        return csv_response(out, VALUE_COLUMNS, f"{definition.id}-series")
    return json_response(SeriesOut(indicator=definition.id, municipality=where.municipality,
                                   stratum=where.stratum, group=chosen_group, values=out))
