"""What the indicator dashboards are built from: the catalogue, the reference data and the
gateway's metric families — so a new indicator gets its panels by being defined."""

from __future__ import annotations

from dataclasses import dataclass

from kommunepuls.domain.catalogue import CATALOGUE, IndicatorDefinition, Population
from kommunepuls.domain.strata import VOLUME_BANDS, VOLUME_INDICATOR
from kommunepuls.reference import POPULATION_BANDS, municipalities

# The gateway's families (services/gateway/indicator_metrics.py): one sample per indicator,
# municipality (kommunekode, or `all` for the country) and group, for the indicator's
# latest period; suppressed cells have no sample at all.
VALUE = "kommunepuls_indicator_value"
NUMERATOR = "kommunepuls_indicator_numerator"
DENOMINATOR = "kommunepuls_indicator_denominator"
TARGET_MET = "kommunepuls_indicator_target_met"
COUNTRY = "all"  # the gateway's municipality label for the whole country

# strata.volume_band's bounds as PromQL filters on the group-1 volume (citizens ever visited
# to group 1, the denominator of VOLUME_INDICATOR): < 100, 100..500, > 500.
VOLUME_FILTERS: dict[str, str] = dict(
    zip(VOLUME_BANDS, ("< 100", ">= 100 <= 500", "> 500"), strict=True))


@dataclass(frozen=True, slots=True)
class Series:
    """One calendar indicator for one of its groups: what the gateway exports per
    municipality, and what one row of panels shows."""

    definition: IndicatorDefinition
    group: int

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def title(self) -> str:
        title = self.definition.title.en
        return f"{title} — group {self.group}" if len(self.definition.groups) > 1 else title

    @property
    def target(self) -> float | None:
        target = self.definition.target
        return None if target is None else float(target)

    def selector(self, municipality: str = "") -> str:
        """Label matchers: `municipality` may be a code, `$municipality`, `all`, or empty
        for every municipality but the country."""
        where = (f'municipality="{municipality}"' if municipality
                 else f'municipality!="{COUNTRY}"')
        return f'{{indicator="{self.id}",group="{self.group}",{where}}}'

    def describe(self) -> str:
        d = self.definition
        target = f" Target: ≥ {self.target:.0%}." if self.target is not None else ""
        return (f"**{d.title.en}** ({d.title.da}). Denominator: {d.denominator.en}. "
                f"Numerator: {d.numerator.en}. Window: {d.window.en}.{target} "
                f"Rule set {d.rule_set_version}; source: {d.source}.")

    def pooled(self, members: str) -> str:
        """The share pooled over the municipalities `members` selects (a PromQL filter on
        the municipality label): sum of numerators over sum of denominators, never an
        average of shares (domain.md §4)."""
        return (f"sum({NUMERATOR}{self.selector()} {members})"
                f" / sum({DENOMINATOR}{self.selector()} {members})")


def _is_curve(definition: IndicatorDefinition) -> bool:
    return definition.population is Population.MONTHS_SINCE_VISITATION


def calendar_series() -> list[Series]:
    """Indicators by calendar period, one Series per group, in catalogue order."""
    return [Series(d, g) for d in CATALOGUE if not _is_curve(d) for g in d.groups]


def curve_series() -> list[Series]:
    """Cohort curves (months since visitation): not in Prometheus, from the API only."""
    return [Series(d, g) for d in CATALOGUE if _is_curve(d) for g in d.groups]


def municipality_names() -> dict[str, str]:
    """kommunekode -> "Name (code)", in code order."""
    return {code: f"{m.name} ({code})" for code, m in sorted(municipalities().items())}


def population_band_members() -> dict[str, str]:
    """Population band -> a regex of its kommunekoder. Bands are fixed reference data
    (2019 populations), so a label matcher selects them; no band label is exported."""
    bands: dict[str, list[str]] = {band: [] for band in POPULATION_BANDS}
    for code, municipality in sorted(municipalities().items()):
        bands[municipality.population_band].append(code)
    return {band: "|".join(codes) for band, codes in bands.items()}


def pooled_by_population_band(series: Series, band: str) -> str:
    codes = population_band_members()[band]
    return (f'sum({NUMERATOR}{{indicator="{series.id}",group="{series.group}",'
            f'municipality=~"{codes}"}})'
            f' / sum({DENOMINATOR}{{indicator="{series.id}",group="{series.group}",'
            f'municipality=~"{codes}"}})')


def pooled_by_volume_band(series: Series, band: str) -> str:
    volume = (f'{DENOMINATOR}{{indicator="{VOLUME_INDICATOR}",group="1",'
              f'municipality!="{COUNTRY}"}} {VOLUME_FILTERS[band]}')
    return series.pooled(f"and on (municipality) ({volume})")
