"""The simulated municipalities: how many citizens each has and how well its effort works."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from kommunepuls.reference import Municipality, municipalities
from kommunepuls.simulator import model
from kommunepuls.simulator.identities import draw_cvr


class SimulatorError(ValueError):
    """The simulation cannot be set up as asked."""


@dataclass(frozen=True, slots=True)
class MunicipalityProfile:
    code: str
    name: str
    population_band: str
    citizens: int
    # Exponent on the activation curve: > 1 activates faster than the reference.
    activation: float
    # Multiplier on the chance that a placement comes with ordinary hours.
    hours: float
    struggling: bool
    source: str
    caseworkers: int
    employers: tuple[str, ...]

    def caseworker_id(self, rng: random.Random) -> str:
        return f"JC{self.code}-{rng.randrange(self.caseworkers) + 1:04d}"


@dataclass(frozen=True, slots=True)
class World:
    """The municipalities of one run, and the whole country as places to move to."""

    profiles: dict[str, MunicipalityProfile]
    destinations: tuple[str, ...]
    destination_weights: tuple[float, ...]
    region: dict[str, str]

    def allocation(self) -> list[tuple[str, int]]:
        return [(p.code, p.citizens) for p in self.profiles.values()]

    def draw_destination(self, rng: random.Random, home: str) -> str:
        """A municipality to move to: often in the same region, weighted by population."""
        same_region = rng.random() < model.RELOCATION_SAME_REGION
        for _ in range(50):
            code = rng.choices(self.destinations, cum_weights=self.destination_weights)[0]
            if code != home and (not same_region or self.region[code] == self.region[home]):
                return code
        return next(c for c in self.destinations if c != home)


def allocate(total: int, populations: dict[str, int]) -> dict[str, int]:
    """Split `total` citizens over municipalities in proportion to population.

    Largest remainder, ties broken by code, so the split is exact and stable.
    """
    pool = sum(populations.values())
    quotas = {code: total * pop / pool for code, pop in populations.items()}
    counts = {code: math.floor(q) for code, q in quotas.items()}
    rest = total - sum(counts.values())
    by_remainder = sorted(quotas, key=lambda c: (-(quotas[c] - counts[c]), c))
    for code in by_remainder[:rest]:
        counts[code] += 1
    return counts


def build_world(seed: int, citizens: int, codes: Sequence[str] | None = None) -> World:
    reference = municipalities()
    chosen = sorted(codes) if codes else sorted(reference)
    unknown = [c for c in chosen if c not in reference]
    if unknown:
        raise SimulatorError(f"unknown municipality codes: {', '.join(unknown)}")
    counts = allocate(citizens, {c: reference[c].population for c in chosen})
    struggling = _struggling(seed, [reference[c] for c in chosen])
    profiles = {
        code: _profile(seed, reference[code], counts[code], code in struggling) for code in chosen
    }
    everyone = sorted(reference)
    return World(
        profiles=profiles,
        destinations=tuple(everyone),
        destination_weights=tuple(itertools.accumulate(reference[c].population for c in everyone)),
        region={c: reference[c].region for c in everyone},
    )


def _struggling(seed: int, candidates: list[Municipality]) -> set[str]:
    low, high = model.STRUGGLING_POPULATION
    eligible = sorted(m.code for m in candidates if low < m.population <= high)
    rng = random.Random(f"struggling:{seed}")
    return set(rng.sample(eligible, min(model.STRUGGLING_MUNICIPALITIES, len(eligible))))


def _profile(seed: int, m: Municipality, citizens: int, struggling: bool) -> MunicipalityProfile:
    rng = random.Random(f"municipality:{seed}:{m.code}")
    band = m.population_band
    activation = model.BAND_ACTIVATION[band] * math.exp(rng.gauss(0.0, model.ACTIVATION_SPREAD))
    if struggling:
        activation = model.STRUGGLING_ACTIVATION
    employers = tuple(draw_cvr(rng) for _ in range(max(5, citizens // 8)))
    return MunicipalityProfile(
        code=m.code,
        name=m.name,
        population_band=band,
        citizens=citizens,
        activation=activation,
        hours=model.BAND_HOURS[band],
        struggling=struggling,
        source="sim-" + model.FAGSYSTEMS[bisect.bisect(_FAGSYSTEM_CUTS, rng.random())],
        caseworkers=max(1, math.ceil(citizens / model.CASELOAD)),
        employers=employers,
    )


# Momentum is the more common of the two case systems; the split is assumed.
_FAGSYSTEM_CUTS = (0.7,)
