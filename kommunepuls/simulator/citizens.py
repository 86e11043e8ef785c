"""One citizen's life in the programme, told month by month as facts in occurred_at order.

The citizen's hidden traits (latent.py) fix when they become active in virksomhedsforløb
mv. and when they would be afklaret; their spells and hours are kept by `Placements`
(spells.py). This module tells the rest: memberships (visitation, moves, endings),
samtaler, sickness, exemptions, caseworkers and a business of their own.

The story is lazy: only open spells and next due dates are kept, so tens of thousands of
citizens can be told side by side in bounded memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from kommunepuls.simulator import model
from kommunepuls.simulator.absences import Absences
from kommunepuls.simulator.draws import Table, between, exp_days
from kommunepuls.simulator.facts import (
    DAY,
    FAR,
    RANK_CLOSE,
    RANK_EVENT,
    RANK_OWNER,
    RANK_START,
    RANK_TERMINAL,
    Fact,
    fact_order,
)
from kommunepuls.simulator.identities import draw_cvr
from kommunepuls.simulator.latent import (
    GROUP_TABLE,
    VISITATION_MONTH_TABLE,
    day_in_month_from,
    draw_activation,
    draw_afklaret,
    draw_target_group,
)
from kommunepuls.simulator.periods import add_months, last_day, next_month
from kommunepuls.simulator.spells import Placements
from kommunepuls.simulator.world import MunicipalityProfile, World

SAMTALE_FORM_TABLE = Table(model.SAMTALE_FORMS)
VISITATION_ENDED_TABLE = Table(model.VISITATION_ENDED_REASONS)
CLOSE_REASON = {
    "afklaret": "afklaret",
    "relocated": "flyttet",
    "visitation_ended": "medlemskab_ophoert",
    "none": "afsluttet",
}


@dataclass(slots=True)
class Membership:
    home: MunicipalityProfile
    case_ref: str
    start: date
    terminal: date  # first day out of the cohort (FAR: none in sight)
    terminal_kind: str


class CitizenStory:
    # Slots: tens of thousands of stories are alive at once for the whole run.
    __slots__ = (
        "absences",
        "afklaret_on",
        "business",
        "business_cvr",
        "cpr",
        "current_group",
        "done",
        "end",
        "group",
        "joins_in",
        "joins_on",
        "membership",
        "month_start",
        "next_samtale",
        "ordinal",
        "outcome",
        "placements",
        "profile",
        "rng",
        "samtale_kind",
        "target_group",
        "visited",
        "visits",
        "where",
        "world",
    )

    def __init__(
        self,
        ordinal: int,
        cpr: str,
        born: date,
        home: MunicipalityProfile,
        world: World,
        rng: random.Random,
        start: date,
        end: date,
    ) -> None:
        self.ordinal, self.cpr, self.world, self.rng, self.end = ordinal, cpr, world, rng, end
        self.group = GROUP_TABLE.pick(rng)
        self.profile = model.GROUPS[self.group]
        self.target_group = draw_target_group(rng, born, start)
        first = max(start, add_months(start, VISITATION_MONTH_TABLE.pick(rng)))
        self.visited = day_in_month_from(rng, first)
        # Visits (date, group) still to be sent; a deferred citizen is marked 6 first.
        self.visits: list[tuple[date, int]] = [(self.visited, self.group)]
        self.current_group = self.group
        join = self.visited
        if rng.random() < model.DEFERRED_SHARE:
            join = max(start, self.visited - timedelta(days=between(rng, 30, 120)))
            if join < self.visited:
                self.visits.insert(0, (join, 6))
        regrouped = FAR
        if self.group == 1 and rng.random() < model.REGROUP_SHARE:
            regrouped = self.visited + timedelta(days=between(rng, 180, 540))
            self.visits.append((regrouped, 2))
        activated = draw_activation(rng, self.profile, self.visited, home.activation)
        # Ordinary hours come to some citizens and not others (prior hours are the strongest
        # predictor, seeds/004 L2560-2564), more often in small municipalities (Table 4-2).
        works = rng.random() < self.profile.works * home.hours
        self.afklaret_on, self.outcome = draw_afklaret(rng, self.group, self.visited)
        if regrouped != FAR:
            # Group 2's rehabiliteringsspor leads on to ressourceforløb, fleksjob or
            # førtidspension (seeds/004 L83-88): from the re-visitation the case is afklaret
            # at group 2's pace, else these cases would hold group 2's share down by ~3 pp.
            self.afklaret_on, self.outcome = min(
                (self.afklaret_on, self.outcome), draw_afklaret(rng, 2, regrouped)
            )
        self.business: tuple[date, date] | None = None
        if rng.random() < model.CVR_REGISTER_SHARE:
            opened = self.visited + timedelta(days=between(rng, 30, 700))
            closed = opened + timedelta(days=between(rng, 120, 600))
            self.business = (opened, closed if rng.random() < model.CVR_CEASE_SHARE else FAR)
        self.business_cvr = draw_cvr(rng) if self.business else ""
        self.placements = Placements(rng, ordinal, self.group, works, activated)
        self.membership: Membership | None = None
        self.joins_on, self.joins_in = join, home
        self.month_start = date(join.year, join.month, 1)
        self.where = (home.code, home.source, "")  # (municipality, source, case_ref)
        self.done = False
        # Set for real when the citizen joins a municipality (_join).
        self.next_samtale = FAR
        self.samtale_kind = "first"
        self.absences = Absences(rng)

    # --- the story ----------------------------------------------------------------------

    def month(self, ms: date) -> list[Fact]:
        """The facts of the month starting `ms`, in occurred order. Call month by month."""
        if self.done or ms < self.month_start:
            return []
        facts = self._month(ms, min(last_day(ms), self.end))
        if len(facts) > 1:
            facts.sort(key=fact_order)
        return facts

    def tail(self) -> list[Fact]:
        """Reports still due after the story ended: eIndkomst reports the last months
        worked whatever happened to the case."""
        return [f for f in self.placements.due_reports(FAR) if f.occurred <= self.end]

    def _month(self, ms: date, me: date) -> list[Fact]:
        facts = self.placements.due_reports(me)
        if self.membership is None:
            if self.joins_on > me:
                return facts
            self._join(facts)
        m = self.membership
        assert m is not None
        limit = min(me, m.terminal - DAY)
        # Each process is asked only when something of it is due: most months hold a
        # samtale and little else, and this loop runs for every citizen every month.
        if self.visits and self.visits[0][0] <= limit:
            self._visits(facts, limit)
        placements = self.placements
        if placements.next_activity <= limit or placements.next_other <= limit:
            placements.start(facts, limit, self._fact, m.home)
        if self.next_samtale <= limit:
            self._samtaler(facts, limit)
        if self.absences.due(limit):
            self.absences.step(facts, limit, self._fact)
        self._caseworker(facts, ms, limit)
        if self.business is not None:
            self._business(facts, limit)
        # Leaving on the 1st of next month closes this month's spells on its last day.
        leaving = m.terminal - DAY <= me
        if leaving:
            self._close(facts, m.terminal - DAY, CLOSE_REASON[m.terminal_kind])
        placements.finish_month(facts, ms, me, limit, self._fact)
        if leaving:
            self._leave(facts, m)
        return facts

    def _fact(self, occurred: date, rank: int, kind: str, data: dict[str, Any]) -> Fact:
        return Fact(occurred, rank, kind, data, *self.where)

    def _join(self, facts: list[Fact]) -> None:
        rng, day, home = self.rng, self.joins_on, self.joins_in
        if self.afklaret_on < day:  # afklaret while between municipalities: later, here
            self.afklaret_on = day + timedelta(days=between(rng, 30, 120))
        moves = day + timedelta(days=max(1, exp_days(rng, model.RELOCATION_PER_YEAR)))
        ends = day + timedelta(days=max(1, exp_days(rng, model.VISITATION_ENDED_PER_YEAR)))
        terminal, kind = min(
            (self.afklaret_on, "afklaret"), (moves, "relocated"), (ends, "visitation_ended")
        )
        if terminal > self.end:
            terminal, kind = FAR, "none"
        case_ref = f"SAG-{home.code}-{self.ordinal:07d}"
        self.membership = Membership(home, case_ref, day, terminal, kind)
        self.where = (home.code, home.source, case_ref)
        for _, group in (v for v in self.visits if v[0] <= day):
            self.current_group = group
        self.visits = [v for v in self.visits if v[0] > day]
        facts.append(self._visitation(day, self.current_group))
        owner = {"caseworker_id": home.caseworker_id(rng)}
        facts.append(self._fact(day, RANK_OWNER, "caseworker_assigned", owner))
        if self.business is not None:  # what fell between two municipalities happens now
            self.business = (max(self.business[0], day), max(self.business[1], day))
        self.next_samtale = day + timedelta(days=between(rng, 3, 14))
        self.samtale_kind = "first"
        self.placements.join(day)
        self.absences.join(day)

    def _visits(self, facts: list[Fact], limit: date) -> None:
        while self.visits and self.visits[0][0] <= limit:
            day, group = self.visits.pop(0)
            self.current_group = group
            facts.append(self._visitation(day, group))

    def _visitation(self, day: date, group: int) -> Fact:
        data = {"programme": model.PROGRAMME, "target_group": self.target_group, "group": group}
        return self._fact(day, RANK_START, "visitation", data)

    def _samtaler(self, facts: list[Fact], limit: date) -> None:
        rng, p = self.rng, self.profile
        while self.next_samtale <= limit:
            day = self.next_samtale
            kind = self.samtale_kind
            if kind == "ordinary" and self.absences.sick_on(day):
                kind = "sygeopfoelgning"
            elif kind == "ordinary" and rng.random() < model.SAMTALE_REVURDERING:
                kind = "rehabiliteringsteam" if self.group == 2 else "revurdering"
            form, held = SAMTALE_FORM_TABLE.pick(rng), rng.random() < p.samtale_held
            data = {"form": form, "held": held, "kind": kind}
            facts.append(self._fact(day, RANK_EVENT, "samtale", data))
            self.samtale_kind = "ordinary"
            first, last = self.placements.placed
            gap = model.SAMTALE_GAP_DAYS_PLACED if first <= day <= last else model.SAMTALE_GAP_DAYS
            self.next_samtale = day + timedelta(days=between(rng, *gap))

    def _caseworker(self, facts: list[Fact], ms: date, limit: date) -> None:
        if limit >= ms and self.rng.random() < model.CASEWORKER_CHANGE_PER_MONTH:
            m = self.membership
            assert m is not None
            first = max(ms, m.start + DAY)
            if first <= limit:
                day = first + timedelta(days=between(self.rng, 0, (limit - first).days))
                owner = {"caseworker_id": m.home.caseworker_id(self.rng)}
                facts.append(self._fact(day, RANK_OWNER, "caseworker_assigned", owner))

    def _business(self, facts: list[Fact], limit: date) -> None:
        if self.business is None:
            return
        opened, closed = self.business
        cvr = self.business_cvr
        if opened <= limit:
            facts.append(self._fact(opened, RANK_EVENT, "cvr_registered", {"cvr": cvr}))
            opened = FAR
        if closed <= limit:
            facts.append(self._fact(closed, RANK_EVENT, "cvr_ceased", {"cvr": cvr}))
            closed = FAR
        self.business = None if opened == closed == FAR else (opened, closed)

    def _close(self, facts: list[Fact], last: date, reason: str) -> None:
        """Everything open in this municipality ends on the last day of membership."""
        self.placements.close(facts, last, reason, self._fact)
        self.absences.close(facts, last, self._fact)

    def _leave(self, facts: list[Fact], m: Membership) -> None:
        day, rng = m.terminal, self.rng
        if m.terminal_kind == "afklaret":
            if self.outcome == "fleksjob":
                # The fleksjob is the outcome: it starts the day the citizen leaves the cohort.
                cvr = rng.choice(m.home.employers)
                self.placements.started(facts, day, "fleksjob", cvr, self._fact, RANK_CLOSE)
            facts.append(self._fact(day, RANK_TERMINAL, "afklaret", {"outcome": self.outcome}))
            self.done = True
        elif m.terminal_kind == "visitation_ended":
            data = {"programme": model.PROGRAMME, "reason": VISITATION_ENDED_TABLE.pick(rng)}
            # visitation_ended is dated the last day of membership, the day before.
            facts.append(self._fact(day - DAY, RANK_TERMINAL, "visitation_ended", data))
            self.done = True
        else:
            to = self.world.draw_destination(rng, m.home.code)
            facts.append(self._fact(day, RANK_TERMINAL, "relocated", {"to_municipality": to}))
            new_home = self.world.profiles.get(to)
            if new_home is None or rng.random() >= model.RELOCATION_CONTINUES:
                self.done = True
            else:
                # Joining waits for the next month so that a month's facts stay in one batch.
                later = day + timedelta(days=between(rng, *model.RELOCATION_REVISIT_DAYS))
                self.joins_on = max(later, next_month(day))
                self.joins_in = new_home
                self.visits = [(v, g) for v, g in self.visits if v > self.joins_on]
        self.placements.leave()
        self.membership = None
