"""The indicator engine's public face: import from here.

    from kommunepuls.domain.indicators import evaluate, CATALOGUE
    counts = evaluate(events, today=date(2019, 8, 15))

The rules live in smaller modules, each with one job:
- catalogue.py   the definitions, as data (and RULE_SET_VERSION)
- citizen.py     one citizen's state, folded from events
- evaluation.py  the cells a citizen counts in, and their sums
- values.py      ratio, percent half-up, target, suppression
- strata.py      national totals, strata, spread across municipalities
"""

from kommunepuls.domain.catalogue import (
    CATALOGUE,
    RULE_SET_VERSION,
    Condition,
    IndicatorDefinition,
    Population,
    Words,
    definition,
)
from kommunepuls.domain.citizen import CitizenState, fold
from kommunepuls.domain.evaluation import (
    DENOMINATOR,
    NUMERATOR,
    Cell,
    Count,
    CountKey,
    Counts,
    contributions,
    curve_period,
    delta,
    evaluate,
    tally,
    tally_totals,
)
from kommunepuls.domain.rounding import percent_half_up
from kommunepuls.domain.strata import (
    NATIONAL,
    Distribution,
    by_population_band,
    by_volume_band,
    distribution,
    group_1_volumes,
    municipal_distribution,
    national,
    volume_band,
)
from kommunepuls.domain.values import IndicatorValue, indicator_value, suppress

__all__ = [
    "CATALOGUE",
    "DENOMINATOR",
    "NATIONAL",
    "NUMERATOR",
    "RULE_SET_VERSION",
    "Cell",
    "CitizenState",
    "Condition",
    "Count",
    "CountKey",
    "Counts",
    "Distribution",
    "IndicatorDefinition",
    "IndicatorValue",
    "Population",
    "Words",
    "by_population_band",
    "by_volume_band",
    "contributions",
    "curve_period",
    "definition",
    "delta",
    "distribution",
    "evaluate",
    "fold",
    "group_1_volumes",
    "indicator_value",
    "municipal_distribution",
    "national",
    "percent_half_up",
    "suppress",
    "tally",
    "tally_totals",
    "volume_band",
]
