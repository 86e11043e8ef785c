"""Spells away from the effort: sickness (sygemelding to raskmelding) and exemptions."""

from __future__ import annotations

import random
from datetime import date, timedelta

from kommunepuls.simulator import model
from kommunepuls.simulator.draws import Table, between, exp_days
from kommunepuls.simulator.facts import DAY, FAR, RANK_CLOSE, RANK_EVENT, Fact, Stamp

EXEMPTION_TABLE = Table(model.EXEMPTION_REASONS)


class Absences:
    __slots__ = ("exempt", "next_exempt", "next_sick", "rng", "sick_partial", "sick_until")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_sick = self.next_exempt = FAR
        self.sick_until: date | None = None  # last sick day of the open spell
        self.sick_partial = False
        self.exempt: tuple[date, str] | None = None  # (last exempt day, reason)

    def join(self, day: date) -> None:
        """A municipality takes the case on `day`; nothing is open there yet."""
        rng = self.rng
        self.next_sick = day + timedelta(days=exp_days(rng, model.SICKNESS_PER_YEAR))
        self.next_exempt = day + timedelta(days=exp_days(rng, model.EXEMPTION_PER_YEAR))
        self.sick_until = self.exempt = None

    def due(self, limit: date) -> bool:
        return (
            self.next_sick <= limit
            or self.next_exempt <= limit
            or self.sick_until is not None
            or self.exempt is not None
        )

    def sick_on(self, day: date) -> bool:
        return self.sick_until is not None and self.sick_until >= day

    def step(self, facts: list[Fact], limit: date, stamp: Stamp) -> None:
        """Spells starting and ending up to `limit` (several may fit in a month)."""
        rng = self.rng
        while True:
            if self.sick_until is None and self.next_sick <= limit:
                day, partial = self.next_sick, rng.random() < model.SICKNESS_PARTIAL
                self.sick_until = day + timedelta(days=between(rng, *model.SICKNESS_DAYS) - 1)
                self.sick_partial = partial
                data = {"first_sick_day": day.isoformat(), "partial": partial}
                facts.append(stamp(day, RANK_EVENT, "sygemelding", data))
            if self.sick_until is None or self.sick_until + DAY > limit:
                break
            self._fit(facts, self.sick_until + DAY, self.sick_until + DAY, stamp)
        while True:
            if self.exempt is None and self.next_exempt <= limit:
                reason = EXEMPTION_TABLE.pick(rng)
                last = self.next_exempt + timedelta(days=between(rng, *model.EXEMPTION_DAYS) - 1)
                self.exempt = (last, reason)
                start = stamp(self.next_exempt, RANK_EVENT, "exemption_started", {"reason": reason})
                facts.append(start)
            if self.exempt is None or self.exempt[0] > limit:
                break
            self._unexempt(facts, self.exempt[0], stamp)

    def close(self, facts: list[Fact], last: date, stamp: Stamp) -> None:
        """Open spells end with the membership on `last`."""
        if self.exempt is not None:
            self._unexempt(facts, last, stamp)
        if self.sick_until is not None:
            self._fit(facts, last, last + DAY, stamp)

    def _fit(self, facts: list[Fact], reported: date, fit_from: date, stamp: Stamp) -> None:
        data = {"fit_from": fit_from.isoformat(), "partial": self.sick_partial}
        facts.append(stamp(reported, RANK_CLOSE, "raskmelding", data))
        self.next_sick = fit_from + timedelta(days=exp_days(self.rng, model.SICKNESS_PER_YEAR))
        self.sick_until = None

    def _unexempt(self, facts: list[Fact], last: date, stamp: Stamp) -> None:
        assert self.exempt is not None
        facts.append(stamp(last, RANK_CLOSE, "exemption_ended", {"reason": self.exempt[1]}))
        self.next_exempt = last + timedelta(days=1 + exp_days(self.rng, model.EXEMPTION_PER_YEAR))
        self.exempt = None
