"""Response models of the monitoring API, named for their role.

`IndicatorValueOut` is the API's face of the domain's `IndicatorValue` (a dataclass of the
pure core): the same numbers plus where they come from (events_through, computed_at,
rule_set_version), so a figure can always be traced back to the events.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

_VALUE_EXAMPLE: dict[str, Any] = {
    "indicator": "fsm_virksomhedsforloeb", "municipality": "461", "period": "2019-06",
    "stratum": None, "group": 1, "numerator": 2, "denominator": 4, "value": 0.5,
    "value_pct": 50.0, "target": 0.4, "met": True, "suppressed": False, "events_through": 13,
    "computed_at": "2019-07-15T10:00:00Z", "as_of": None, "rule_set_version": "fsm-2017.08-r1",
}


class WordsOut(BaseModel):
    en: str
    da: str


class IndicatorOut(BaseModel):
    """A catalogue entry: the definition in words, as the evaluator applies it."""

    id: str = Field(examples=["fsm_virksomhedsforloeb"])
    title: WordsOut
    numerator: WordsOut
    denominator: WordsOut
    window: WordsOut
    programme: str
    groups: list[int] = Field(description="The groups counted; each value is for one group.")
    population: str
    condition: str
    window_months: int | None
    unit: str = Field(description="`share`: numerator / denominator, 0..1.")
    counting_unit: str = Field(description="What one count is (a citizen, not a spell).")
    target: float | None = Field(description="Share to reach or exceed (0..1), if any.")
    rule_set_version: str
    valid_from: date
    valid_to: date | None
    source: str = Field(description="Where the rule comes from (seed document and lines).")
    periods: str = Field(description="How periods are written for this indicator.")


class Catalogue(BaseModel):
    rule_set_version: str
    indicators: list[IndicatorOut]


class IndicatorValueOut(BaseModel):
    """One cell: an indicator for a municipality (or all, or a stratum), period and group."""

    model_config = {"json_schema_extra": {"examples": [_VALUE_EXAMPLE]}}

    indicator: str
    municipality: str = Field(description="Kommunekode, or `all` for the country/a stratum.")
    period: str = Field(description="`YYYY-MM`; `m01`..`m29` for the cohort curve.")
    stratum: str | None = Field(description="e.g. `population:0-25k`, `volume:<100`.")
    group: int
    numerator: int | None
    denominator: int | None
    value: float | None = Field(description="numerator / denominator, 0..1, unrounded.")
    value_pct: float | None = Field(description="Percent, rounded half-up to 1 decimal.")
    target: float | None
    met: bool | None
    suppressed: bool = Field(
        description="Numerator or denominator was 1..threshold-1: counts and value hidden.")
    events_through: int = Field(
        description="Every stored event up to this position is reflected in the value.")
    computed_at: datetime | None = Field(description="When the read model was last written.")
    as_of: datetime | None = Field(description="The value as known at this time (if asked).")
    rule_set_version: str


class SeriesOut(BaseModel):
    indicator: str
    municipality: str
    stratum: str | None
    group: int
    values: list[IndicatorValueOut]


class CurvePoint(BaseModel):
    m: int = Field(ge=1, description="Months since visitation (1 = the visitation month).")
    period: str = Field(examples=["m01"])
    numerator: int | None
    denominator: int | None
    value: float | None
    value_pct: float | None
    suppressed: bool


class CurveOut(BaseModel):
    """The cohort curve: share in virksomhedsforløb mv. by months since visitation."""

    indicator: str
    municipality: str
    stratum: str | None
    group: int
    events_through: int
    computed_at: datetime | None
    as_of: datetime | None
    rule_set_version: str
    points: list[CurvePoint]


class DistributionOut(BaseModel):
    """Five-number summary of municipal shares (0..1) the caller may see unsuppressed."""

    n: int
    min: float
    q1: float
    median: float
    q3: float
    max: float


class RankingEntry(BaseModel):
    rank: int | None = Field(description="1 = highest share; ties share a rank; null = no value.")
    municipality: str
    name: str
    numerator: int | None
    denominator: int | None
    value: float | None
    value_pct: float | None
    met: bool | None
    suppressed: bool


class RankingOut(BaseModel):
    indicator: str
    period: str
    group: int
    target: float | None
    rule_set_version: str
    events_through: int
    computed_at: datetime | None
    as_of: datetime | None
    national: IndicatorValueOut
    distribution: DistributionOut | None
    entries: list[RankingEntry]


class RevisionOut(BaseModel):
    """One change of a cell's pooled value, in the order the metrics worker recorded it."""

    numerator: int | None
    denominator: int | None
    value: float | None
    value_pct: float | None
    met: bool | None
    suppressed: bool
    events_through: int = Field(
        description="Position the metrics partition that wrote this revision had reached.")
    recorded_at: datetime


class RevisionsOut(BaseModel):
    indicator: str
    municipality: str
    period: str
    group: int
    rule_set_version: str
    revisions: list[RevisionOut]


class WorklistCitizen(BaseModel):
    citizen_id: str = Field(description="The pseudonym (never the CPR).")
    case_ref: str | None = Field(description="The sending system's case id, if it sent one.")
    caseworker_id: str | None
    last_activity_on: date | None = Field(
        description="Last day with what the numerator looks for (for fsm_virksomhedsforloeb: "
                    "virksomhedsrettet tilbud, ordinary education, fleksjob, ordinary hours), "
                    "on or before the reference day; null = never since visitation.")
    days_since_last_activity: int | None


class CaseworkerWorklist(BaseModel):
    caseworker_id: str | None = Field(description="null = no caseworker assigned.")
    citizens: list[WorklistCitizen]


class WorklistOut(BaseModel):
    municipality: str
    indicator: str
    period: str
    group: int
    reference_day: date = Field(description="The period's last day, or today if earlier.")
    citizens: int
    caseworkers: list[CaseworkerWorklist]


class WorklistAccess(BaseModel):
    accessed_at: datetime
    subject: str
    role: str
    municipality: str
    indicator: str
    period: str
    outcome: str = Field(description="`granted` or `denied`.")
    citizens: int | None
