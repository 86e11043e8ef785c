"""The frikommune experiment registry: what each experiment is, validated when loaded.

The data live in `registry_round1.py` / `registry_round3.py` as plain dicts, one per
experiment, filled from the network's evaluation designs (seeds 000, 001) and its
application and evaluation annex (seed 003). Every figure carries a `Source`: the seed file,
the line numbers and a verbatim quote of those lines, so a reader can check it and a test
does (tests/unit/test_experiments_registry.py reads the seeds and finds each quote, and
each number in its quote).

`registry()` validates everything once: municipality codes against the reference list,
target groups against the event contract, dates in order, the marking programme equal to
the experiment id, comparison municipalities outside the experiment. A bad entry fails at
start, not in the middle of a request.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kommunepuls.domain.event_data import TargetGroup, TilbudKind
from kommunepuls.domain.fields import SLUG_PATTERN
from kommunepuls.experiments.target_groups import LAB_2_CODES, slug_for_code
from kommunepuls.reference import municipalities

SeedFile = Literal["000", "001", "002", "003"]
MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]


class RegistryError(ValueError):
    """The experiment registry data is inconsistent."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    """Where a figure or statement comes from: a verbatim quote of lines of a seed file."""

    seed: SeedFile
    first_line: int = Field(ge=1)
    last_line: int = Field(ge=1)
    quote: str = Field(min_length=3)

    @model_validator(mode="after")
    def _ordered(self) -> Source:
        if self.last_line < self.first_line:
            raise ValueError("last_line before first_line")
        return self

    def cite(self) -> str:
        lines = (f"L{self.first_line}" if self.first_line == self.last_line
                 else f"L{self.first_line}-{self.last_line}")
        return f"seeds/{self.seed} {lines}"


class Words(_Frozen):
    da: str
    en: str


class Stated(_Frozen):
    """A statement taken from the seeds (legal basis, the rule waived)."""

    text: str
    sources: tuple[Source, ...] = Field(min_length=1)


class DatedFact(_Frozen):
    on: date
    sources: tuple[Source, ...] = Field(min_length=1)
    note: str | None = None


class Target(_Frozen):
    """A numeric target of the experiment, as written in the seed and as a number."""

    id: Slug
    title: Words
    value: Decimal
    unit: Literal["citizens", "businesses", "microloans", "courses_per_year", "percent"]
    direction: Literal["at_least", "at_most"]
    written: str  # the number as the seed writes it, found in the source quote
    measure: str | None  # the platform's measure (targets.py); None = not in the events
    baseline: DatedFact | None = None
    source: Source


class Followup(_Frozen):
    """A follow-up the experiment asks for: outcome checked `months` after an anchor."""

    kind: Literal["cvr_survival", "status_after_tilbud", "self_support_after_microloan",
                  "outcome_windows"]
    months: tuple[int, ...] = Field(min_length=1)
    written: str  # e.g. "6 måneder, 1 år, 1½ år og 2 år", found in the quote
    tilbud_kinds: tuple[TilbudKind, ...] = ()  # status_after_tilbud: which tilbud ends
    source: Source


class ScopeRow(_Frozen):
    """Target groups covered in some municipalities: LAB § 2 codes as the seeds write them,
    and contract target groups outside LAB § 2 (integrationsydelse is integration law)."""

    lab_codes: tuple[str, ...] = ()
    other_target_groups: tuple[TargetGroup, ...] = ()
    municipalities: tuple[MunicipalityCode, ...] = Field(min_length=1)
    source: Source

    @model_validator(mode="after")
    def _some_group(self) -> ScopeRow:
        if not self.lab_codes and not self.other_target_groups:
            raise ValueError("a scope row needs a LAB code or a target group")
        unknown = [c for c in self.lab_codes if c not in LAB_2_CODES]
        if unknown:
            raise ValueError(f"unknown LAB § 2 codes {unknown}")
        return self

    @property
    def target_groups(self) -> frozenset[str]:
        return frozenset([*(slug_for_code(code) for code in self.lab_codes),
                          *(g.value for g in self.other_target_groups)])


class MembershipRule(_Frozen):
    """How citizens enter: a marking (a visitation with programme = the experiment id) or a
    rule over what the events already say (target group, first day)."""

    by: Literal["marking", "rule"]
    started_from: date | None = None  # rule: only memberships starting on or after this
    sources: tuple[Source, ...] = Field(min_length=1)


class Span(_Frozen):
    first: date
    last: date


class ComparisonDesign(_Frozen):
    municipalities: tuple[MunicipalityCode, ...] = ()
    before: Span | None = None
    after: Span | None = None
    sources: tuple[Source, ...] = ()
    note: str | None = None


class ReferenceFigure(_Frozen):
    """A published result kept beside its recomputation from the same published counts."""

    id: Slug
    title: Words
    written: str
    numerator: int
    denominator: int
    source: Source


class Experiment(_Frozen):
    id: Slug
    title: Words
    round: Literal[1, 2, 3]
    legal_basis: Stated | None
    waives: Stated
    scope: tuple[ScopeRow, ...] = Field(min_length=1)
    municipality_sources: tuple[Source, ...] = Field(min_length=1)
    start: DatedFact
    end: DatedFact
    membership: MembershipRule
    comparison: ComparisonDesign = ComparisonDesign()
    targets: tuple[Target, ...] = ()
    followups: tuple[Followup, ...] = ()
    rule_families: tuple[str, ...] = ()  # deadline rules it relaxes (rules.py)
    reference_figures: tuple[ReferenceFigure, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def marking_programme(self) -> str:
        # The marking code fagsystems send: visitation.data.programme = the experiment id.
        return self.id

    @property
    def municipalities(self) -> tuple[str, ...]:
        return tuple(sorted({m for row in self.scope for m in row.municipalities}))

    @property
    def target_groups(self) -> tuple[str, ...]:
        return tuple(sorted({g for row in self.scope for g in row.target_groups}))

    def covers(self, municipality: str, target_group: str | None) -> bool:
        """Whether the experiment's rules apply to this target group in this municipality."""
        return any(municipality in row.municipalities
                   and (target_group is None or target_group in row.target_groups)
                   for row in self.scope)

    def active_on(self, day: date) -> bool:
        return self.start.on <= day <= self.end.on

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        known = municipalities()
        codes = set(self.municipalities) | set(self.comparison.municipalities)
        unknown = sorted(c for c in codes if c not in known)
        if unknown:
            raise ValueError(f"{self.id}: unknown municipality codes {unknown}")
        if set(self.municipalities) & set(self.comparison.municipalities):
            raise ValueError(f"{self.id}: a municipality cannot be its own comparison")
        if self.end.on < self.start.on:
            raise ValueError(f"{self.id}: ends before it starts")
        groups = {g.value for g in TargetGroup}
        if not set(self.target_groups) <= groups:
            raise ValueError(f"{self.id}: target groups outside the contract")
        for span in (self.comparison.before, self.comparison.after):
            if span is not None and span.last < span.first:
                raise ValueError(f"{self.id}: comparison span ends before it starts")
        ids = [t.id for t in self.targets]
        if len(ids) != len(set(ids)):
            raise ValueError(f"{self.id}: duplicate target ids")
        return self


def _load(raw: list[dict[str, object]]) -> dict[str, Experiment]:
    from kommunepuls.experiments.rules import RULE_FAMILIES
    from kommunepuls.experiments.targets import MEASURES

    experiments: dict[str, Experiment] = {}
    for entry in raw:
        experiment = Experiment.model_validate(entry)
        if experiment.id in experiments:
            raise RegistryError(f"experiment {experiment.id!r} is registered twice")
        unknown = [f for f in experiment.rule_families if f not in RULE_FAMILIES]
        if unknown:
            raise RegistryError(f"{experiment.id}: unknown rule families {unknown}")
        unmeasured = [t.id for t in experiment.targets
                      if t.measure is not None and t.measure not in MEASURES]
        if unmeasured:
            raise RegistryError(f"{experiment.id}: targets with unknown measures {unmeasured}")
        experiments[experiment.id] = experiment
    return experiments


@cache
def registry() -> dict[str, Experiment]:
    """Every registered experiment by id, validated (raises on bad data)."""
    from kommunepuls.experiments.registry_round1 import ROUND_1
    from kommunepuls.experiments.registry_round3 import ROUND_2_3

    try:
        return _load([*ROUND_1, *ROUND_2_3])
    except ValueError as exc:
        raise RegistryError(str(exc)) from None


def experiment(experiment_id: str) -> Experiment:
    """One experiment (KeyError if it is not registered)."""
    return registry()[experiment_id]


def status_on(entry: Experiment, today: date) -> Literal["planned", "running", "ended"]:
    if today < entry.start.on:
        return "planned"
    return "running" if today <= entry.end.on else "ended"
