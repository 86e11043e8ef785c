"""A citizen's hidden traits, drawn once: group, benefit, when activation and afklaring come."""

from __future__ import annotations

import functools
import math
import random
from datetime import date, timedelta

from kommunepuls.simulator import model
from kommunepuls.simulator.draws import Table, between
from kommunepuls.simulator.facts import FAR
from kommunepuls.simulator.periods import add_months, last_day, month_index

GROUP_TABLE = Table(tuple((g, p.share) for g, p in model.GROUPS.items()))
VISITATION_MONTH_TABLE = Table(tuple(enumerate(model.VISITATION_MONTH_WEIGHTS)))
DAYS_PER_MONTH = 30.44
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
    days = model.AFKLARET_EARLIEST_DAYS + int(rng.expovariate(afklaret_rate_per_day(group)))
    return visited + timedelta(days=days), OUTCOME_TABLES[group].pick(rng)


@functools.cache
def afklaret_rate_per_day(group: int) -> float:
    """The hazard a of afklaring that reaches the group's share s despite the competing
    exits (moves, ended memberships) at rate c: with both constant from day d0 on, the
    share afklaret first by day t is a / (a + c) * (1 - exp(-(a + c) * (t - d0))).
    Solved for a by bisection; the share grows with a, so that converges."""
    share = model.GROUPS[group].afklaret
    days = model.AFKLARET_REFERENCE_MONTHS * DAYS_PER_MONTH - model.AFKLARET_EARLIEST_DAYS
    competing = (model.RELOCATION_PER_YEAR + model.VISITATION_ENDED_PER_YEAR) / 365.25

    def reached(a: float) -> float:
        return a / (a + competing) * (1.0 - math.exp(-(a + competing) * days))

    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if reached(mid) < share else (lo, mid)
    return (lo + hi) / 2


def draw_target_group(rng: random.Random, born: date, start: date) -> str:
    if rng.random() < model.INTEGRATIONSYDELSE_SHARE:
        return "integrationsydelse"
    young = month_index(start) - month_index(born) < 30 * 12
    if young and rng.random() < model.UNDER_30_UDDANNELSESHJAELP:
        return "uddannelseshjaelp"
    return "kontanthjaelp_aktivitetsparat"
