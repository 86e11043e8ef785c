"""A citizen's hidden traits, drawn once: group, benefit, when activation and afklaring come."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from kommunepuls.simulator import model
from kommunepuls.simulator.draws import Table, between
from kommunepuls.simulator.facts import FAR
from kommunepuls.simulator.periods import add_months, last_day, month_index

GROUP_TABLE = Table(tuple((g, p.share) for g, p in model.GROUPS.items()))
VISITATION_MONTH_TABLE = Table(tuple(enumerate(model.VISITATION_MONTH_WEIGHTS)))
OUTCOME_TABLES = {g: Table(p.outcomes) for g, p in model.GROUPS.items()}


def day_in_month_from(rng: random.Random, first: date) -> date:
    """A day from `first` to the end of its month."""
    return first + timedelta(days=between(rng, 0, (last_day(first) - first).days))


def draw_activation(
    rng: random.Random, profile: model.GroupProfile, visited: date, municipal_effect: float
) -> date:
    """The day from which the citizen is in virksomhedsforløb mv. (FAR: never).

    The group's curve C(m) (share activated by month m after visitation) is linear from
    month 1 to 29 and half as steep after; the municipality's effect k bends it as
    1 - (1 - C(m))**k, a proportional-hazards shift that keeps it between 0 and 1.
    """
    p = profile
    v = 1.0 - (1.0 - rng.random()) ** (1.0 / municipal_effect)
    slope = (p.activated_m29 - p.activated_m1) / 28
    if v <= p.activated_m1:
        m = 1
    elif v <= p.activated_m29:
        m = 1 + math.ceil((v - p.activated_m1) / slope)
    elif v <= 0.97:
        m = 29 + math.ceil((v - p.activated_m29) / (slope / 2))
    else:
        return FAR
    return day_in_month_from(rng, max(visited, add_months(visited, m - 1)))


def draw_afklaret(rng: random.Random, group: int, visited: date) -> tuple[date, str]:
    """When the citizen would be afklaret (if nothing else ends the case first), and to what.

    A constant hazard after the first months, set so that the group's share is reached
    AFKLARET_REFERENCE_MONTHS after visitation.
    """
    p = model.GROUPS[group]
    months = model.AFKLARET_REFERENCE_MONTHS - model.AFKLARET_EARLIEST_DAYS / 30.44
    rate_per_day = -math.log(1.0 - p.afklaret) / (months * 30.44)
    days = model.AFKLARET_EARLIEST_DAYS + int(rng.expovariate(rate_per_day))
    return visited + timedelta(days=days), OUTCOME_TABLES[group].pick(rng)


def draw_target_group(rng: random.Random, born: date, start: date) -> str:
    if rng.random() < model.INTEGRATIONSYDELSE_SHARE:
        return "integrationsydelse"
    young = month_index(start) - month_index(born) < 30 * 12
    if young and rng.random() < model.UNDER_30_UDDANNELSESHJAELP:
        return "uddannelseshjaelp"
    return "kontanthjaelp_aktivitetsparat"
