"""GET /v1/indicators/{id}/ranking: every municipality's value in one period, sorted.

The five-number summary is computed from the values the caller sees: for roles with
suppression, a suppressed municipality is left out, because a minimum or maximum would
otherwise give its share away.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from kommunepuls.domain import indicators as engine
from kommunepuls.reference import municipalities
from kommunepuls.web.problems import InvalidRequest
from services.gateway import queries
from services.gateway.csv_format import CSV_RESPONSE, csv_response, fields, wants_csv
from services.gateway.figures import ALL, Pooled, Scope, latest_at, value_out
from services.gateway.models import DistributionOut, RankingEntry, RankingOut
from services.gateway.params import (
    INDICATOR_PROBLEMS,
    STRICT_QUERY,
    AsOfQuery,
    GroupQuery,
    Indicator,
    PeriodQuery,
    Viewer,
    aware,
    check_group,
    check_period,
    default_period,
    is_curve,
)
from services.gateway.responses import json_response

router = APIRouter(prefix="/v1/indicators", tags=["indicator values"], dependencies=STRICT_QUERY)

ENTRY_COLUMNS = fields(RankingEntry)


Entry = dict[str, Any]  # a RankingEntry as data: validated once, with the whole answer


def ranked(entries: list[Entry]) -> list[Entry]:
    """Highest share first; equal shares share a rank (1, 2, 2, 4); no value last."""
    with_value = sorted((e for e in entries if e["value"] is not None),
                        key=lambda e: (-e["value"], e["municipality"]))
    without = sorted((e for e in entries if e["value"] is None),
                     key=lambda e: e["municipality"])
    previous: Entry | None = None
    for index, entry in enumerate(with_value):
        tied = previous is not None and previous["value"] == entry["value"]
        entry["rank"] = previous["rank"] if tied and previous is not None else index + 1
        previous = entry
    for entry in without:
        entry["rank"] = None
    return with_value + without


@router.get(
    "/{indicator_id}/ranking", response_model=RankingOut,
    responses=INDICATOR_PROBLEMS | CSV_RESPONSE,
    summary="Every municipality's value in one period, sorted, with the spread")
async def ranking(request: Request, definition: Indicator, viewer: Viewer,
                  period: PeriodQuery = None, group: GroupQuery = None,
                  as_of: AsOfQuery = None) -> Response:
    chosen_group = check_group(definition, group)
    if period is None and is_curve(definition):
        raise InvalidRequest("a cohort curve is ranked one month at a time: give period=mNN")
    chosen = (check_period(definition, period) if period is not None
              else await default_period(request, definition, chosen_group))
    as_of = aware(as_of)
    through = (await request.app.state.freshness.get()).through
    rows = await queries.cells(request.app.state.pool, definition.id, chosen_group, [chosen],
                               as_of=as_of)
    by_code = {r.municipality: r for r in rows}
    # Entries are plain dicts, validated once in RankingOut.model_validate below: 98 models
    # built one by one cost more than the query (measured: bench/gateway.py).
    entries = []
    values: list[float] = []  # the shown (unsuppressed) values, for the spread
    for code, municipality in municipalities().items():
        row = by_code.get(code)
        shown = viewer.value(row.numerator if row else 0, row.denominator if row else 0,
                             definition.target)
        entries.append({
            "rank": None, "municipality": code, "name": municipality.name,
            "numerator": shown.numerator, "denominator": shown.denominator,
            "value": shown.value, "value_pct": shown.value_pct, "met": shown.met,
            "suppressed": shown.suppressed})
        if shown.value is not None:
            values.append(shown.value)
    entries = ranked(entries)
    if wants_csv(request):
        return csv_response(entries, ENTRY_COLUMNS, f"{definition.id}-{chosen}-ranking")
    # The country is the sum of raw counts, whatever is suppressed in the entries.
    known = [r for r in rows if r.municipality in municipalities()]
    total = Pooled(sum(r.numerator for r in known), sum(r.denominator for r in known),
                   max((r.events_through for r in known), default=0),
                   latest_at(Pooled(0, 0, 0, r.computed_at) for r in known))
    national = value_out(definition, Scope(ALL), chosen, chosen_group, total, viewer,
                         events_through=through, as_of=as_of)
    spread = engine.distribution(values)
    return json_response(RankingOut.model_validate({
        "indicator": definition.id, "period": chosen, "group": chosen_group,
        "target": None if definition.target is None else float(definition.target),
        "rule_set_version": definition.rule_set_version,
        "events_through": national.events_through, "computed_at": total.computed_at,
        "as_of": as_of, "national": national,
        "distribution": None if spread is None else DistributionOut(
            n=spread.n, min=spread.min, q1=spread.q1, median=spread.median, q3=spread.q3,
            max=spread.max),
        "entries": entries}))
