"""Target-group codes of the law (LAB § 2 until 2019, § 6 from 2020-01-01) and our slugs.

The seeds name target groups by LAB § 2 code ("LAB 2.5 – Sygedagpengemodtagere"); the
reform of 1 January 2020 renumbered them as § 6 (the evaluation annex writes "Sygedagpenge
6.6 (tidligere 2.5)", seeds/003 L6555). Events carry our slug (`sygedagpenge`), which
does not change, so a series keyed by slug runs across the renumbering; this module turns
either code into the slug and gives the code in force on a day, for labels and for
reference figures loaded from Jobindsats.

Only pairs the seeds state are here, each with its line: a § 6 code without a seed line
(2.1, 2.4, 2.6) is left out rather than guessed, and `code_on` returns None for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

RENUMBERED_ON = date(2020, 1, 1)  # LAB § 2 -> § 6 (domain.md §7)


@dataclass(frozen=True, slots=True)
class LabCode:
    slug: str  # our target group (event contract TargetGroup)
    name_da: str
    lab_2: str  # the code until 2019-12-31
    lab_2_line: int  # seeds/000 (or 001) line naming it
    lab_2_seed: str
    lab_6: str | None  # the code from 2020-01-01, if the seeds state it
    lab_6_line: int | None  # seeds/003 line giving "6.x (tidligere 2.y)"


# seeds/000 L379, L659, L970-984 and seeds/001 L1099 name the § 2 codes; seeds/003
# L6555-6805 give the § 6 codes. 2.12 and 2.13 are both `uddannelseshjaelp` in our
# contract (it does not split uddannelsesparat / aktivitetsparat).
LAB_CODES: tuple[LabCode, ...] = (
    LabCode("dagpenge", "Forsikrede ledige", "2.1", 379, "000", None, None),
    LabCode("kontanthjaelp_jobparat", "Jobparate kontanthjælpsmodtagere", "2.2", 970, "000",
            "6.2", 6609),
    LabCode("kontanthjaelp_aktivitetsparat", "Aktivitetsparate kontanthjælpsmodtagere", "2.3",
            972, "000", "6.3", 6609),
    LabCode("revalidering", "Revalidender", "2.4", 974, "000", None, None),
    LabCode("sygedagpenge", "Sygedagpengemodtagere", "2.5", 659, "000", "6.6", 6555),
    LabCode("foertidspension", "Førtidspensionister (i løntilskud)", "2.6", 1099, "001",
            None, None),
    LabCode("ledighedsydelse", "Ledighedsydelsesmodtagere", "2.7", 976, "000", "6.9", 6771),
    LabCode("ressourceforloeb", "Borgere visiteret til ressourceforløb", "2.11", 978, "000",
            "6.8", 6715),
    LabCode("uddannelseshjaelp", "Uddannelsesparate uddannelseshjælpsmodtagere", "2.12", 980,
            "000", "6.4", 6662),
    LabCode("uddannelseshjaelp", "Aktivitetsparate uddannelseshjælpsmodtagere", "2.13", 982,
            "000", "6.5", 6662),
    LabCode("jobafklaringsforloeb", "Jobafklaringsforløb", "2.14", 984, "000", "6.7", 6805),
)

LAB_2_CODES: dict[str, LabCode] = {c.lab_2: c for c in LAB_CODES}
LAB_6_CODES: dict[str, LabCode] = {c.lab_6: c for c in LAB_CODES if c.lab_6 is not None}


def slug_for_code(code: str) -> str:
    """Our target group for a LAB code of either numbering ("2.5" or "6.6")."""
    found = LAB_2_CODES.get(code) or LAB_6_CODES.get(code)
    if found is None:
        raise KeyError(f"no target group is known for LAB code {code!r}")
    return found.slug


def code_on(lab_2: str, day: date) -> str | None:
    """The code a § 2 target group has on `day`: itself before 2020, its § 6 code after
    (None when the seeds do not state the § 6 code)."""
    entry = LAB_2_CODES[lab_2]
    return entry.lab_2 if day < RENUMBERED_ON else entry.lab_6


def series_key(code: str, day: date) -> str:
    """A key that stays the same across the renumbering, for a code reported on `day`.

    A § 2 code reported in 2020 or later, or a § 6 code before 2020, is a mislabelled row
    (the numbering did not exist then); it is refused rather than silently merged.
    """
    if code in LAB_2_CODES and day >= RENUMBERED_ON:
        raise ValueError(f"LAB § 2 code {code} reported for {day}, after the renumbering")
    if code in LAB_6_CODES and day < RENUMBERED_ON:
        raise ValueError(f"LAB § 6 code {code} reported for {day}, before the renumbering")
    # Keyed by the § 2 code, not our slug: 2.12/6.4 and 2.13/6.5 share the slug
    # `uddannelseshjaelp` but are separate series in the law's statistics.
    entry = LAB_2_CODES.get(code) or LAB_6_CODES.get(code)
    if entry is None:
        raise KeyError(f"no target group is known for LAB code {code!r}")
    return entry.lab_2
