"""GET /v1/experiments…: the frikommune experiments — registry, status against targets,
follow-up windows and comparisons with their comparison municipalities.

For now every figure here is computed on request from the event store by the pure
functions in kommunepuls/experiments (the citizens with any event in the municipalities
concerned, folded and evaluated off the event loop); unlike the catalogue indicators
there is no read model yet. Counts of 1-4 are suppressed for the municipality role, as
everywhere (domain.md §4); the national role sees raw counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from kommunepuls.auth import Principal, Role
from kommunepuls.clock import platform_today
from kommunepuls.experiments import comparison as did
from kommunepuls.experiments.cadence import DUE
from kommunepuls.experiments.citizen import ExperimentCitizen, read_citizens
from kommunepuls.experiments.deadlines import citizen_deadlines
from kommunepuls.experiments.followup import count_outcomes, followups_of
from kommunepuls.experiments.membership import members, unmarked_eligible
from kommunepuls.experiments.registry import Experiment, registry, status_on
from kommunepuls.experiments.series import UnknownIndicator, comparable, indicator_series
from kommunepuls.experiments.target_groups import RENUMBERED_ON, code_on
from kommunepuls.experiments.targets import target_statuses
from kommunepuls.reference import is_municipality
from kommunepuls.storage.event_store import stored_from_row
from kommunepuls.web.problems import PROBLEM_RESPONSES, InvalidRequest, NotFound
from kommunepuls.web.security import require_roles

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])
Reader = Annotated[Principal, Depends(require_roles(Role.municipality, Role.national))]
ExperimentId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$",
                                   examples=["ivaerksaetteri_dimittender"])]
# Problems are documented as application/problem+json, the media type they are sent with.
PROBLEMS: dict[int | str, dict[str, Any]] = PROBLEM_RESPONSES | {
    404: PROBLEM_RESPONSES[422] | {"description": "No such experiment"}}

# Every event of every citizen who has an event in one of the municipalities: a citizen's
# history elsewhere (before moving in) belongs to their state too.
_EVENTS = """SELECT position, event_id, citizen_id, municipality, type, schema_version,
                    occurred_at, recorded_at, source, case_ref, data FROM events
             WHERE citizen_id IN (SELECT citizen_id FROM events
                                  WHERE municipality = ANY($1::text[]))
             ORDER BY position"""


class Figure(BaseModel):
    numerator: int | None
    denominator: int | None
    value: float | None
    suppressed: bool = False


class TargetOut(BaseModel):
    id: str
    title: dict[str, str]
    target: float
    unit: str
    direction: str
    measure: str | None
    value: float | None
    met: bool | None
    numerator: int | None
    denominator: int | None
    not_yet_due: int | None
    suppressed: bool


class ExperimentSummary(BaseModel):
    id: str
    title: dict[str, str]
    round: int
    status: str
    start: date
    end: date
    municipalities: list[str]
    comparison_municipalities: list[str]
    target_groups: list[str]
    lab_codes: list[dict[str, str | None]]  # LAB § 2 code and its § 6 code from 2020
    membership: str
    marking_programme: str


class CadenceOut(BaseModel):
    """Whether a rule family's deadlines were kept in the experiment's municipalities, per
    rule variant (ordinary before or outside the experiment, experiment while it runs)."""

    family: str
    variant: str
    rules: list[str]
    on_time: Figure  # deadlines met on time / deadlines due (exempt, not yet due left out)
    overdue_citizens: int | None  # citizens behind today


class ExperimentDetail(ExperimentSummary):
    today: date
    registry: dict[str, Any]  # the registry entry, every figure with its seed lines
    members: int | None
    unmarked_eligible: int | None
    targets: list[TargetOut]
    cadence: list[CadenceOut]
    comparable_indicators: list[str]


class FollowupRow(BaseModel):
    kind: str
    months: int
    municipality: str
    cohort: str
    yes: int | None
    no: int | None
    not_yet_due: int | None
    share: float | None
    suppressed: bool


class FollowupOut(BaseModel):
    experiment: str
    today: date
    rows: list[FollowupRow]


class TrendPointOut(BaseModel):
    period: str
    trial: Figure
    comparison: Figure
    gap: float | None


class ComparisonOut(BaseModel):
    experiment: str
    indicator: str
    unit: str
    today: date
    start: date
    trial_municipalities: list[str]
    comparison_municipalities: list[str]
    periods_before: list[str]
    periods_after: list[str]
    trial_before: Figure
    trial_after: Figure
    comparison_before: Figure
    comparison_after: Figure
    did: float | None  # in the unit of the values (a share's 0.17 = 17 percentage points)
    did_points: float | None  # shares only: percentage points, rounded half-up
    pre_trend_slope: float | None  # change of the gap per before-period
    pre_trend_placebo: float | None  # DiD of the later vs the earlier before-periods
    pre_trend: list[TrendPointOut]


def _entry(experiment_id: str) -> Experiment:
    found = registry().get(experiment_id)
    if found is None:
        raise NotFound(f"there is no experiment {experiment_id!r}; see /v1/experiments")
    return found


def _summary(entry: Experiment, today: date) -> dict[str, Any]:
    return {"id": entry.id, "title": entry.title.model_dump(), "round": entry.round,
            "status": status_on(entry, today), "start": entry.start.on, "end": entry.end.on,
            "municipalities": list(entry.municipalities),
            "comparison_municipalities": list(entry.comparison.municipalities),
            "target_groups": list(entry.target_groups),
            "lab_codes": [{"lab_2": code, "lab_6": code_on(code, RENUMBERED_ON)}
                          for code in sorted({c for row in entry.scope for c in row.lab_codes})],
            "membership": entry.membership.by,
            "marking_programme": entry.marking_programme}


def _small(count: int | None, raw: bool, threshold: int) -> bool:
    return not raw and count is not None and 1 <= count < threshold


def _figure(pooled: did.Pooled, raw: bool, threshold: int) -> Figure:
    if _small(pooled.numerator, raw, threshold) or _small(pooled.denominator, raw, threshold):
        return Figure(numerator=None, denominator=None, value=None, suppressed=True)
    ratio = pooled.ratio
    return Figure(numerator=pooled.numerator, denominator=pooled.denominator,
                  value=None if ratio is None else float(ratio))


def _float(value: Fraction | Decimal | None) -> float | None:
    return None if value is None else float(value)


async def _people(request: Request, municipalities: Collection[str]
                  ) -> tuple[list[ExperimentCitizen], date]:
    pool = request.app.state.pool
    today = await platform_today(request.app.state.settings, pool)
    rows = await pool.fetch(_EVENTS, sorted(municipalities))
    events = [stored_from_row(r) for r in rows]
    return await asyncio.to_thread(read_citizens, events), today


def _audience(request: Request, caller: Principal) -> tuple[bool, int]:
    return caller.role is Role.national, request.app.state.settings.suppression_threshold


@router.get("", response_model=list[ExperimentSummary], responses=PROBLEMS,
            summary="The registered frikommune experiments")
async def list_experiments(request: Request, _: Reader) -> list[dict[str, Any]]:
    today = await platform_today(request.app.state.settings, request.app.state.pool)
    return [_summary(entry, today) for entry in registry().values()]


@router.get("/{experiment_id}", response_model=ExperimentDetail, responses=PROBLEMS,
            summary="One experiment: its registry entry and its status against the targets")
async def get_experiment(request: Request, experiment_id: ExperimentId,
                         caller: Reader) -> dict[str, Any]:
    entry = _entry(experiment_id)
    people, today = await _people(request, entry.municipalities)
    raw, threshold = _audience(request, caller)

    def compute() -> tuple[Any, int, int, list[CadenceOut]]:
        statuses = target_statuses(entry, people, today)
        in_it = sum(1 for p in people if members(entry, p, today))
        unmarked = sum(1 for p in people if unmarked_eligible(entry, p, today))
        return statuses, in_it, unmarked, _cadence(entry, people, today, raw, threshold)

    statuses, in_it, unmarked, cadence = await asyncio.to_thread(compute)
    targets = []
    for s in statuses:
        hidden = _small(s.numerator, raw, threshold) or _small(s.denominator, raw, threshold)
        targets.append(TargetOut(
            id=s.id, title=s.title.model_dump(), target=float(s.target), unit=s.unit,
            direction=s.direction, measure=s.measure,
            value=None if hidden else _float(s.value), met=None if hidden else s.met,
            numerator=None if hidden else s.numerator,
            denominator=None if hidden else s.denominator,
            not_yet_due=None if hidden else s.not_yet_due, suppressed=hidden))
    marking = entry.membership.by == "marking"
    return {**_summary(entry, today), "today": today,
            "registry": entry.model_dump(mode="json"),
            "members": None if _small(in_it, raw, threshold) else in_it,
            "unmarked_eligible": (None if not marking or _small(unmarked, raw, threshold)
                                  else unmarked),
            "targets": targets, "cadence": cadence,
            "comparable_indicators": list(comparable(entry))}


def _cadence(entry: Experiment, people: list[ExperimentCitizen], today: date, raw: bool,
             threshold: int) -> list[CadenceOut]:
    out = []
    for family in entry.rule_families:
        results = [citizen_deadlines(p, family, today) for p in people]
        by_variant: dict[str, tuple[list[int], set[str], set[str]]] = {}
        for result in results:
            for d in result.deadlines:
                if d.municipality not in entry.municipalities:
                    continue
                counts, rules, behind = by_variant.setdefault(d.variant, ([0, 0], set(), set()))
                rules.add(d.rule)
                if d.status in DUE and d.due < today:
                    counts[0] += d.status == "on_time"
                    counts[1] += 1
                if d.status == "overdue":
                    behind.add(d.citizen_id)
        for variant, (counts, rules, behind) in sorted(by_variant.items()):
            out.append(CadenceOut(
                family=family, variant=variant, rules=sorted(rules),
                on_time=_figure(did.Pooled(counts[0], counts[1]), raw, threshold),
                overdue_citizens=None if _small(len(behind), raw, threshold) else len(behind)))
    return out


@router.get("/{experiment_id}/followup", response_model=FollowupOut, responses=PROBLEMS,
            summary="Follow-up windows: yes / no / not yet due, by municipality and cohort")
async def get_followup(request: Request, experiment_id: ExperimentId,
                       caller: Reader) -> FollowupOut:
    entry = _entry(experiment_id)
    people, today = await _people(request, entry.municipalities)
    raw, threshold = _audience(request, caller)

    def compute() -> dict[Any, Any]:
        results = [r for p in people for stay in members(entry, p, today)
                   for f in entry.followups for r in followups_of(f, stay, p, today)]
        return count_outcomes(results)

    counts = await asyncio.to_thread(compute)
    rows = []
    for (kind, months, municipality, cohort), c in sorted(counts.items()):
        hidden = any(_small(n, raw, threshold) for n in (c.yes, c.no, c.not_yet_due))
        share = None if hidden or c.due == 0 else c.yes / c.due
        rows.append(FollowupRow(kind=kind, months=months, municipality=municipality,
                                cohort=cohort, yes=None if hidden else c.yes,
                                no=None if hidden else c.no,
                                not_yet_due=None if hidden else c.not_yet_due,
                                share=share, suppressed=hidden))
    return FollowupOut(experiment=entry.id, today=today, rows=rows)


@router.get("/{experiment_id}/comparison", response_model=ComparisonOut, responses=PROBLEMS,
            summary="Experiment vs comparison municipalities: before/after, DiD, pre-trend")
async def get_comparison(
        request: Request, experiment_id: ExperimentId, caller: Reader,
        indicator: Annotated[str, Query(description="An indicator id; see the experiment's "
                                        "`comparable_indicators`.",
                                        examples=["samtaler_per_citizen"])],
        comparison: Annotated[str | None, Query(
            description="Comparison municipalities, comma-separated kommunekoder; default "
                        "the registry's (some designs do not name them).",
            pattern=r"^\d{3}(,\d{3})*$")] = None,
        group: Annotated[int, Query(ge=1, le=6, description="Group, for catalogue "
                                                            "indicators")] = 1,
) -> ComparisonOut:
    entry = _entry(experiment_id)
    if indicator not in comparable(entry):
        raise InvalidRequest(f"{experiment_id} cannot compare {indicator!r}; one of: "
                             + ", ".join(comparable(entry)))
    others = (tuple(comparison.split(",")) if comparison
              else entry.comparison.municipalities)
    if not others:
        raise InvalidRequest("the seeds name no comparison municipalities for this "
                             "experiment; pass ?comparison=101,751,...")
    if any(not is_municipality(m) for m in others) or set(others) & set(entry.municipalities):
        raise InvalidRequest("comparison must be kommunekoder outside the experiment")
    design = entry.comparison
    start = design.after.first if design.after is not None else entry.start.on
    span = {"before": None if design.before is None else (design.before.first,
                                                           design.before.last),
            "after": None if design.after is None else (design.after.first, design.after.last)}
    people, today = await _people(request, set(entry.municipalities) | set(others))
    raw, threshold = _audience(request, caller)

    def compute() -> tuple[Any, Any]:
        found = indicator_series(indicator, entry, people, today, others, group)
        return found, did.compare(found.series, entry.municipalities, others, start, **span)

    try:
        found, result = await asyncio.to_thread(compute)
    except UnknownIndicator:
        raise InvalidRequest(f"unknown indicator {indicator!r}") from None
    figures = [result.trial_before, result.trial_after, result.comparison_before,
               result.comparison_after]
    shown = [_figure(p, raw, threshold) for p in figures]
    # The estimate is only as shown as its inputs: a suppressed side hides it.
    hidden = any(f.suppressed for f in shown)
    return ComparisonOut(
        experiment=entry.id, indicator=indicator, unit=found.unit, today=today, start=start,
        trial_municipalities=list(entry.municipalities), comparison_municipalities=list(others),
        periods_before=list(result.periods_before), periods_after=list(result.periods_after),
        trial_before=shown[0], trial_after=shown[1], comparison_before=shown[2],
        comparison_after=shown[3],
        did=None if hidden else _float(result.did),
        did_points=(None if hidden or found.unit != "share"
                    else _float(did.points(result.did))),
        pre_trend_slope=_float(result.pre_trend.slope),
        pre_trend_placebo=_float(result.pre_trend.placebo),
        pre_trend=[TrendPointOut(period=p.period, trial=_figure(p.trial, raw, threshold),
                                 comparison=_figure(p.comparison, raw, threshold),
                                 gap=None if raw is False and (
                                     _small(p.trial.denominator, raw, threshold)
                                     or _small(p.comparison.denominator, raw, threshold))
                                 else _float(p.gap))
                   for p in result.pre_trend.points])
