"""Reference data shipped with the package: the 98 Danish municipalities."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

PopulationBand = Literal["0-25k", "25-50k", "50k+"]
POPULATION_BANDS: tuple[PopulationBand, ...] = ("0-25k", "25-50k", "50k+")


@dataclass(frozen=True, slots=True)
class Municipality:
    code: str
    name: str
    region: str
    population: int

    @property
    def population_band(self) -> PopulationBand:
        # seeds/004 Table 4-2 splits at 25,000 and 50,000 inhabitants.
        if self.population < 25_000:
            return "0-25k"
        if self.population <= 50_000:
            return "25-50k"
        return "50k+"


@cache
def municipalities() -> dict[str, Municipality]:
    """All 98 municipalities by kommunekode (2019-01-01 populations)."""
    text = resources.files(__package__).joinpath("municipalities.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return {
        r["code"]: Municipality(r["code"], r["name"], r["region"], int(r["population"]))
        for r in rows
    }


def is_municipality(code: str) -> bool:
    return code in municipalities()
