"""A citizen's tilbud spells and ordinary work, and the hours eIndkomst reports for them.

After activation the citizen goes from spell to spell with mostly short gaps, which is
what keeps the monthly share in virksomhedsforløb mv. close to the "ever" share.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from kommunepuls.simulator import model
from kommunepuls.simulator.draws import Table, between, exp_days
from kommunepuls.simulator.facts import FAR, RANK_CLOSE, RANK_EVENT, Fact, Stamp
from kommunepuls.simulator.periods import last_day, next_month, period
from kommunepuls.simulator.world import MunicipalityProfile

# Kinds that are virksomhedsforløb mv.; "job" is a stint of ordinary work without a tilbud.
QUALIFYING = frozenset(
    {
        "virksomhedspraktik",
        "loentilskud_privat",
        "loentilskud_offentlig",
        "nytteindsats",
        "ordinaer_uddannelse",
        "fleksjob",
        "job",
    }
)
WITH_EMPLOYER = frozenset(
    {
        "virksomhedspraktik",
        "loentilskud_privat",
        "loentilskud_offentlig",
        "nytteindsats",
        "fleksjob",
        "jobrotation",
        "job",
    }
)
OTHER_TILBUD_TABLE = Table(model.OTHER_TILBUD_MIX)
OTHER_TILBUD_PER_YEAR = model.OTHER_TILBUD_PER_MONTH * 12
INTERRUPTED_SHARE = 0.12


@dataclass(slots=True)
class Spell:
    kind: str
    tilbud_id: str | None  # None for ordinary work, and once the spell's end is sent
    start: date
    end: date
    cvr: str | None
    monthly_hours: float


@functools.cache
def _activity_table(group: int, works: bool) -> Table:
    # Only citizens who can take ordinary work get stints of it.
    mix = model.GROUPS[group].activity_mix
    return Table(tuple((k, w if works or k != "job" else 0.0) for k, w in mix))


def _gap_days(rng: random.Random) -> int:
    u = rng.random()
    short_p, short = model.GAP_SHORT
    medium_p, medium = model.GAP_MEDIUM
    gap = short if u < short_p else medium if u < short_p + medium_p else model.GAP_LONG[1]
    return between(rng, *gap)


class Placements:
    __slots__ = (
        "count",
        "group",
        "next_activity",
        "next_other",
        "ordinal",
        "placed",
        "reports",
        "rng",
        "spells",
        "works",
    )

    def __init__(
        self, rng: random.Random, ordinal: int, group: int, works: bool, activated: date
    ) -> None:
        self.rng, self.ordinal, self.group, self.works = rng, ordinal, group, works
        self.spells: list[Spell] = []
        self.count = 0
        self.next_activity = activated
        self.next_other = FAR
        self.placed = (FAR, FAR)  # the latest virksomhedsforløb spell, for samtale cadence
        self.reports: list[Fact] = []  # eIndkomst reports not yet due

    def join(self, day: date) -> None:
        """A municipality takes the case on `day`: placements resume there."""
        rng = self.rng
        self.next_activity = max(self.next_activity, day + timedelta(days=between(rng, 0, 10)))
        self.next_other = day + timedelta(days=exp_days(rng, OTHER_TILBUD_PER_YEAR))

    def start(
        self, facts: list[Fact], limit: date, stamp: Stamp, home: MunicipalityProfile
    ) -> None:
        """Spells starting up to `limit`: virksomhedsforløb after activation, and the other
        tilbud (mentor, vejledning...) that anyone may get."""
        rng = self.rng
        while self.next_activity <= limit:
            day = self.next_activity
            kind = _activity_table(self.group, self.works).pick(rng)
            spell = self._open(facts, day, kind, stamp, home)
            with_hours = self.works and rng.random() < model.PRAKTIK_WITH_HOURS
            if kind == "virksomhedspraktik" and with_hours:
                spell.monthly_hours = float(between(rng, *model.PRAKTIK_HOURS_MONTH))
            self.next_activity = spell.end + timedelta(days=1 + _gap_days(rng))
        while self.next_other <= limit:
            self._open(facts, self.next_other, OTHER_TILBUD_TABLE.pick(rng), stamp, home)
            self.next_other += timedelta(days=exp_days(rng, OTHER_TILBUD_PER_YEAR))

    def _open(
        self, facts: list[Fact], day: date, kind: str, stamp: Stamp, home: MunicipalityProfile
    ) -> Spell:
        rng = self.rng
        end = day + timedelta(days=between(rng, *model.SPELL_DAYS[kind]) - 1)
        cvr = rng.choice(home.employers) if kind in WITH_EMPLOYER else None
        if kind == "job":
            full = rng.random() < model.JOB_FULL_TIME_SHARE
            hours = between(rng, 130, 165) if full else between(rng, *model.JOB_HOURS_MONTH)
            spell = Spell(kind, None, day, end, cvr, float(hours))
        else:
            spell = Spell(kind, self.started(facts, day, kind, cvr, stamp), day, end, cvr, 0.0)
        self.spells.append(spell)
        if kind in QUALIFYING:
            self.placed = (day, end)
        return spell

    def started(
        self,
        facts: list[Fact],
        day: date,
        kind: str,
        cvr: str | None,
        stamp: Stamp,
        rank: int = RANK_EVENT,
    ) -> str:
        """Send tilbud_started; returns the new tilbud_id."""
        self.count += 1
        tilbud_id = f"T{self.ordinal:07d}-{self.count:03d}"
        data: dict[str, Any] = {
            "tilbud_id": tilbud_id,
            "kind": kind,
            "hours_per_week": between(self.rng, *model.HOURS_PER_WEEK[kind]),
        }
        if cvr:
            data["cvr"] = cvr
        facts.append(stamp(day, rank, "tilbud_started", data))
        return tilbud_id

    def finish_month(
        self, facts: list[Fact], ms: date, me: date, limit: date, stamp: Stamp
    ) -> None:
        """The month's hours go to eIndkomst; spells ending by `limit` are ended."""
        if not self.spells:
            return
        self._hours(ms, me, stamp)
        still = []
        for s in self.spells:
            if s.end > limit:
                still.append(s)
            elif s.tilbud_id is not None:
                reason = "afbrudt" if self.rng.random() < INTERRUPTED_SHARE else "afsluttet"
                data = {"tilbud_id": s.tilbud_id, "reason": reason}
                facts.append(stamp(s.end, RANK_CLOSE, "tilbud_ended", data))
        self.spells = still

    def close(self, facts: list[Fact], last: date, reason: str, stamp: Stamp) -> None:
        """Everything open ends on `last`, the last day of membership."""
        for s in self.spells:
            if s.end > last:
                s.end = last
                if s.tilbud_id is not None:
                    data = {"tilbud_id": s.tilbud_id, "reason": reason}
                    facts.append(stamp(last, RANK_CLOSE, "tilbud_ended", data))
                    s.tilbud_id = None  # ended now; finish_month must not end it again

    def leave(self) -> None:
        self.spells = []
        self.placed = (FAR, FAR)

    def due_reports(self, me: date) -> list[Fact]:
        if not self.reports:
            return []
        due = [f for f in self.reports if f.occurred <= me]
        self.reports = [f for f in self.reports if f.occurred > me]
        return due

    def _hours(self, ms: date, me: date, stamp: Stamp) -> None:
        """Ordinary hours of the month, reported by eIndkomst around the 10th of the next."""
        days_in_month = (last_day(ms) - ms).days + 1
        by_employer: dict[str | None, float] = {}
        for s in self.spells:
            if s.monthly_hours and s.start <= me and s.end >= ms:
                share = ((min(s.end, me) - max(s.start, ms)).days + 1) / days_in_month
                by_employer[s.cvr] = by_employer.get(s.cvr, 0.0) + s.monthly_hours * share
        if not by_employer:
            return
        rng, month = self.rng, period(ms)
        day = model.EINDKOMST_REPORT_DAY - 1 + between(rng, -4, 4)
        reported = next_month(ms) + timedelta(days=day)
        for cvr, raw in by_employer.items():
            hours = round(raw * rng.uniform(0.85, 1.15) * 2) / 2
            if hours <= 0:
                continue
            data: dict[str, Any] = {"month": month, "hours": hours, "cvr": cvr}
            report = stamp(reported, RANK_EVENT, "ordinary_hours", data)
            self.reports.append(report._replace(source=model.EINDKOMST_SOURCE))
            if rng.random() < model.HOURS_CORRECTION_SHARE:
                fixed = {**data, "hours": round(hours * rng.uniform(0.6, 1.3) * 2) / 2}
                later = reported + timedelta(days=between(rng, 20, 60))
                self.reports.append(report._replace(occurred=later, data=fixed))
