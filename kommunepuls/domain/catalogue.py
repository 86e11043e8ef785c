"""The indicator catalogue: every indicator as data, with its definition in words.

One definition drives the evaluator (`evaluation.py`), the API's `/v1/indicators`, the
metric families and the dashboards. The evaluator reads only the structured fields
(population, condition, groups, window, hours threshold, validity); the words say the
same thing for people, in English and Danish, and `source` says where the rule comes from
(seeds/004 = the final evaluation of 'Flere skal med', line numbers of
/work/shared/seeds/004_d3fb190e6946fe4c.txt).

Adding an indicator is adding one definition here and its hand-computed test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from kommunepuls.domain.citizen import FSM

# Bump when any definition's meaning changes; every computed value records it.
RULE_SET_VERSION = "fsm-2017.08-r1"

# 'Flere skal med' ran August 2017 - August 2019 (seeds/004 L10); many municipalities kept
# the model afterwards (L1868), so the rule set stays valid until a reform replaces it.
FSM_VALID_FROM = date(2017, 8, 1)

FSM_GROUPS = (1, 2, 3, 6)  # indsats, rehabilitering, ukontaktbar, udskudt (L73-94, L3981-3987)

# The group-1 goal is at least 30 ordinary hours a week (seeds/004 L118); 30 h x 52 weeks
# / 12 months = 130 hours in a month.
HOURS_30_A_WEEK_PER_MONTH = 130


class Population(Enum):
    """Who is in the denominator, and over which days the condition is looked for."""

    # Members of the group in the municipality on the period's reference day (the
    # window's last day, or today in the unfinished month), not exempt that day. The
    # condition is looked for in the window of `window_months` months ending with it.
    MEMBERS = "members"
    # Everyone ever visited to the group in the municipality by the reference day;
    # the condition is looked for from their first visitation to the group until then.
    EVER_VISITED = "ever_visited"
    # Cohort curve: everyone visited to the group, in month m = 1..window_months counted
    # in calendar months from the visitation month; censored from the month they move
    # away and while month m has not ended.
    MONTHS_SINCE_VISITATION = "months_since_visitation"


class Condition(Enum):
    """What the numerator looks for on some day of the population's days."""

    # A virksomhedsrettet tilbud, ordinaer_uddannelse, fleksjob or ordinary hours > 0
    # (seeds/004 L134-138, footnote L2210-2212).
    VIRKSOMHEDSFORLOEB = "virksomhedsforloeb"
    # Ordinary hours in a month (> 0, or >= min_hours), excluding hours at the employer of
    # a løntilskud or fleksjob running that month (seeds/004 Fig 4-4, L2239).
    ORDINARY_HOURS = "ordinary_hours"
    # Afklaret, as reported by the municipality, on or before the reference day.
    AFKLARET = "afklaret"


@dataclass(frozen=True, slots=True)
class Words:
    en: str
    da: str


@dataclass(frozen=True, slots=True)
class IndicatorDefinition:
    id: str
    title: Words
    numerator: Words
    denominator: Words
    window: Words
    programme: str
    groups: tuple[int, ...]  # the groups counted; each cell is one group
    population: Population
    condition: Condition
    window_months: int | None  # MEMBERS: months in the window; curve: last month m
    min_hours: int | None  # ORDINARY_HOURS: None = more than 0 hours
    unit: str
    counting_unit: str  # what one count is: a citizen, not a spell (domain.md §7)
    target: Decimal | None  # share the value should reach or exceed
    rule_set_version: str
    valid_from: date
    valid_to: date | None
    source: str  # where the rule comes from, with seed line numbers


def _fsm(**fields: object) -> IndicatorDefinition:
    defaults: dict[str, object] = {
        "programme": FSM,
        "unit": "share",
        "counting_unit": "citizen",
        "target": None,
        "min_hours": None,
        "rule_set_version": RULE_SET_VERSION,
        "valid_from": FSM_VALID_FROM,
        "valid_to": None,
    }
    return IndicatorDefinition(**(defaults | fields))  # type: ignore[arg-type]


_VF_EN = (
    "a virksomhedsrettet tilbud (virksomhedspraktik, løntilskud, nytteindsats), "
    "ordinary education, fleksjob, or ordinary hours > 0 in a month"
)
_VF_DA = (
    "virksomhedsrettet tilbud (virksomhedspraktik, løntilskud, nytteindsats), "
    "ordinær uddannelse, fleksjob eller ordinære timer > 0 i en måned"
)
_MEMBERS_EN = (
    "citizens in FSM group 1 in the municipality on the window's last day (today in the "
    "current month), not afklaret, moved away or exempt that day"
)
_MEMBERS_DA = (
    "borgere i FSM gruppe 1 i kommunen på vinduets sidste dag (i dag i indeværende måned), "
    "som ikke er afklaret, fraflyttet eller fritaget den dag"
)

CATALOGUE: tuple[IndicatorDefinition, ...] = (
    _fsm(
        id="fsm_virksomhedsforloeb",
        title=Words(
            "Group 1 in virksomhedsforløb mv. (3 months)",
            "Gruppe 1 i virksomhedsforløb mv. (3 måneder)",
        ),
        numerator=Words(
            f"of them, those with at least one day in the window of {_VF_EN}",
            f"heraf dem med mindst én dag i vinduet med {_VF_DA}",
        ),
        denominator=Words(_MEMBERS_EN, _MEMBERS_DA),
        window=Words(
            "the 3 calendar months ending with the period",
            "de 3 kalendermåneder til og med perioden",
        ),
        groups=(1,),
        population=Population.MEMBERS,
        condition=Condition.VIRKSOMHEDSFORLOEB,
        window_months=3,
        target=Decimal("0.40"),
        source=(
            "seeds/004 L130-138 (success criterion 2: at least 40 % of group 1 in "
            "virksomhedsforløb mv. over 3 months), L2167-2173, footnote L2210-2212; "
            "domain.md §4 worked example"
        ),
    ),
    _fsm(
        id="fsm_virksomhedsforloeb_ever",
        title=Words(
            "Group 1 ever in virksomhedsforløb mv.", "Gruppe 1 nogensinde i virksomhedsforløb mv."
        ),
        numerator=Words(
            f"of them, those with at least one day since their visitation of {_VF_EN}",
            f"heraf dem med mindst én dag siden visitationen med {_VF_DA}",
        ),
        denominator=Words(
            "everyone ever visited to FSM group 1 in the municipality by the period's end "
            "(today in the current month), whatever happened since",
            "alle, der nogensinde er visiteret til FSM gruppe 1 i kommunen senest ved "
            "periodens udgang (i dag i indeværende måned), uanset forløbet siden",
        ),
        window=Words(
            "from the first visitation to group 1 until the period's end",
            "fra første visitation til gruppe 1 til periodens udgang",
        ),
        groups=(1,),
        population=Population.EVER_VISITED,
        condition=Condition.VIRKSOMHEDSFORLOEB,
        window_months=None,
        source=(
            "seeds/004 L406 (over 70 % of group 1 during the project), Table 4-2 "
            "L2364-2374 (84/78/77 % by size, 81/73/72 % by group-1 volume), Table 4-3 "
            "L2480-2490 (min 57, Q1 73, median 78, Q3 84, max 100 %)"
        ),
    ),
    _fsm(
        id="fsm_ordinaere_timer",
        title=Words(
            "Group 1 with ordinary hours (3 months)", "Gruppe 1 med ordinære timer (3 måneder)"
        ),
        numerator=Words(
            "of them, those with ordinary hours > 0 in a month of the window, not counting "
            "hours at the employer of a løntilskud or fleksjob running that month",
            "heraf dem med ordinære timer > 0 i en måned i vinduet, fraregnet timer hos "
            "arbejdsgiveren for et løntilskud eller fleksjob i samme måned",
        ),
        denominator=Words(_MEMBERS_EN, _MEMBERS_DA),
        window=Words(
            "the 3 calendar months ending with the period",
            "de 3 kalendermåneder til og med perioden",
        ),
        groups=(1,),
        population=Population.MEMBERS,
        condition=Condition.ORDINARY_HOURS,
        window_months=3,
        source=(
            "seeds/004 Fig 4-4 L2239 (ordinary hours excluding løntilskud and fleksjob), "
            "Table 4-2 L2366, L2372"
        ),
    ),
    _fsm(
        id="fsm_30_timer",
        title=Words(
            "Group 1 with at least 30 hours a week", "Gruppe 1 med mindst 30 timer om ugen"
        ),
        numerator=Words(
            "of them, those with at least 130 ordinary hours (30 a week) in the period month, "
            "not counting hours at the employer of a løntilskud or fleksjob",
            "heraf dem med mindst 130 ordinære timer (30 om ugen) i periodens måned, "
            "fraregnet timer hos arbejdsgiveren for et løntilskud eller fleksjob",
        ),
        denominator=Words(_MEMBERS_EN, _MEMBERS_DA),
        window=Words("the period month", "periodens måned"),
        groups=(1,),
        population=Population.MEMBERS,
        condition=Condition.ORDINARY_HOURS,
        window_months=1,
        min_hours=HOURS_30_A_WEEK_PER_MONTH,
        source="seeds/004 L118 (the group-1 goal: at least 30 ordinary hours a week)",
    ),
    _fsm(
        id="fsm_afklaret",
        title=Words("Afklaret, by group", "Afklaret, pr. gruppe"),
        numerator=Words(
            "of them, those the municipality reported afklaret since their visitation to "
            "the group, by the period's end",
            "heraf dem, kommunen har meldt afklaret siden visitationen til gruppen, senest "
            "ved periodens udgang",
        ),
        denominator=Words(
            "everyone ever visited to the group in the municipality by the period's end",
            "alle, der nogensinde er visiteret til gruppen i kommunen senest ved periodens udgang",
        ),
        window=Words(
            "from the first visitation to the group until the period's end",
            "fra første visitation til gruppen til periodens udgang",
        ),
        groups=FSM_GROUPS,
        population=Population.EVER_VISITED,
        condition=Condition.AFKLARET,
        window_months=None,
        source="seeds/004 L2175-2183 (about 10 % of group 1 and 74 % of group 2 afklaret)",
    ),
    _fsm(
        id="fsm_virksomhedsforloeb_curve",
        title=Words(
            "In virksomhedsforløb mv., by months since visitation",
            "I virksomhedsforløb mv., efter måneder siden visitation",
        ),
        numerator=Words(
            f"of them, those with at least one day in month m (from the visitation day in "
            f"month 1) of {_VF_EN}",
            f"heraf dem med mindst én dag i måned m (fra visitationsdagen i måned 1) med {_VF_DA}",
        ),
        denominator=Words(
            "everyone visited to the group in the municipality whose month m has ended, "
            "leaving from the month they move away (censored, not a failure)",
            "alle visiteret til gruppen i kommunen, hvis måned m er afsluttet; borgeren "
            "udgår fra fraflytningsmåneden (censureret, ikke et udfald)",
        ),
        window=Words(
            "month m = 1..29, month 1 being the calendar month of the first visitation to "
            "the group",
            "måned m = 1..29, hvor måned 1 er kalendermåneden for første visitation til gruppen",
        ),
        groups=FSM_GROUPS,
        population=Population.MONTHS_SINCE_VISITATION,
        condition=Condition.VIRKSOMHEDSFORLOEB,
        window_months=29,
        source=(
            "seeds/004 L2185-2197, Fig 4-3a L2199 (15-20 % at month 1; group 1 about 70 % "
            "and the other groups about 50 % at month 29)"
        ),
    ),
)

_BY_ID = {definition.id: definition for definition in CATALOGUE}


def definition(indicator_id: str) -> IndicatorDefinition:
    """The catalogue entry for an indicator id (KeyError if there is none)."""
    return _BY_ID[indicator_id]
