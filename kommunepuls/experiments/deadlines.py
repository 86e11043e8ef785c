"""The deadline engine: which samtaler / follow-ups a citizen was due, by which rule, and
whether they came in time.

For a rule family (rules.py) and a citizen, `citizen_deadlines` walks the citizen's stays
in the family's target group (any programme) and lays down deadlines as the rule in force
says, choosing the version per municipality and day, so a stay that runs into an
experiment switches rules on the experiment's first day. Each deadline is

- on_time: a qualifying samtale came on or before the due day;
- late: it came after the due day (the next deadline counts from it);
- overdue: the due day has passed and none came yet (can still turn late);
- missed: a window rule's window closed with too few samtaler (final);
- open: due today or later, not yet met;
- exempt: the due day falls in an exemption — counted neither way.

A deadline whose due day falls after the stay ended is not laid down: the citizen left.
Only held samtaler in the stay's municipality count, filtered by the rule's forms/kinds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from kommunepuls.domain.citizen import Interval as DayInterval
from kommunepuls.experiments.citizen import ExperimentCitizen
from kommunepuls.experiments.dates import ONE_DAY, add_months, month_end, month_start
from kommunepuls.experiments.registry import registry
from kommunepuls.experiments.rules import (
    RULE_FAMILIES,
    BenefitClock,
    CountInWindow,
    Interval,
    RuleVersion,
    Waived,
    rule_in_force,
)

Status = Literal["on_time", "late", "overdue", "missed", "open", "exempt"]
Chooser = Callable[[str, str, date], RuleVersion | None]
LOENTILSKUD = frozenset({"loentilskud_privat", "loentilskud_offentlig"})
_MAX_STEPS = 10_000  # a guard: no real stay has this many deadlines


def months_in_days(months: int) -> int:
    """Benefit time counted in days, as LAS § 74 c counts months of ledighedsydelse across
    gaps: an average month of 365.25 / 12 days, rounded (12 -> 365, 18 -> 548)."""
    return round(months * 365.25 / 12)


@dataclass(frozen=True, slots=True)
class Deadline:
    family: str
    rule: str  # RuleVersion.id that set it
    variant: str  # ordinary | experiment
    citizen_id: str
    municipality: str
    due: date
    met_on: date | None
    status: Status


@dataclass(frozen=True, slots=True)
class CitizenDeadlines:
    citizen_id: str
    family: str
    deadlines: tuple[Deadline, ...]
    next_due: date | None  # the earliest unmet deadline (overdue ones included)
    overdue: bool  # behind now: an overdue deadline, or the last closed window missed


@dataclass(frozen=True, slots=True)
class Stay:
    municipality: str
    start: date
    end: date | None  # last day; None = open until today


def target_group_stays(person: ExperimentCitizen, target_group: str) -> list[Stay]:
    spans: list[Stay] = []
    for m in sorted(person.state.memberships, key=lambda m: (m.municipality, m.start)):
        if m.target_group != target_group:
            continue
        last = spans[-1] if spans else None
        if (last is not None and last.municipality == m.municipality
                and (last.end is None or m.start <= last.end + ONE_DAY)):
            end = None if last.end is None or m.end is None else max(last.end, m.end)
            spans[-1] = Stay(last.municipality, last.start, end)
        else:
            spans.append(Stay(m.municipality, m.start, m.end))
    return sorted(spans, key=lambda s: s.start)


def _exempt(exemptions: tuple[DayInterval, ...], day: date) -> bool:
    return any(e.start <= day and (e.end is None or day <= e.end) for e in exemptions)


def _held(person: ExperimentCitizen, rule: RuleVersion, municipality: str) -> list[date]:
    counts = rule.counts
    return [s.day for s in person.samtaler
            if s.held and s.municipality == municipality
            and (counts.forms is None or s.form in counts.forms)
            and (counts.kinds is None or s.kind in counts.kinds)]


def _default_chooser(family: str, municipality: str, day: date) -> RuleVersion | None:
    return rule_in_force(family, municipality, day)


def _resume_after_waiver(rule: RuleVersion) -> date:
    return registry()[rule.experiment or ""].end.on + ONE_DAY


class _Walk:
    """Collects one citizen's deadlines for one family."""

    def __init__(self, person: ExperimentCitizen, family: str, today: date,
                 choose: Chooser) -> None:
        self.person, self.family, self.today, self.choose = person, family, today, choose
        self.found: list[Deadline] = []
        self.projected: list[date] = []  # next due days beyond the laid-down deadlines

    def add(self, rule: RuleVersion, municipality: str, due: date, met: date | None,
            status: Status | None = None) -> None:
        if status is None:
            if met is not None:
                status = "on_time" if met <= due else "late"
            else:
                status = "overdue" if due < self.today else "open"
        self.found.append(Deadline(self.family, rule.id, rule.variant, self.person.citizen_id,
                                   municipality, due, met, status))

    # -- Interval: first within N months of the anchor, then every M months -------------
    def interval(self, stay: Stay, anchor: date, last: date | None) -> None:
        horizon = last if last is not None else self.today
        base, first = anchor, True
        for _ in range(_MAX_STEPS):
            rule = self.choose(self.family, stay.municipality, base)
            if rule is None:
                return
            if isinstance(rule.cadence, Waived):
                base, first = _resume_after_waiver(rule), True
                if base > horizon:
                    return
                continue
            due = add_months(base, _months(rule.cadence, first))
            at_due = self.choose(self.family, stay.municipality, due)
            if at_due is None or isinstance(at_due.cadence, Waived):
                base = due if at_due is None else _resume_after_waiver(at_due)
                first = True
                if at_due is None or base > horizon:
                    return
                continue
            if at_due.id != rule.id:
                rule, due = at_due, self._switched_due(stay, base, due, at_due, first)
            if last is not None and due > last:
                return
            if _exempt(self.person.state.exemptions, due):
                self.add(rule, stay.municipality, due, None, "exempt")
                base, first = due, False
                continue
            held = [d for d in _held(self.person, rule, stay.municipality)
                    if (d >= base if first else d > base) and d <= horizon]
            met = held[0] if held else None
            self.add(rule, stay.municipality, due, met)
            if met is None:
                return
            base, first = met, False

    def _switched_due(self, stay: Stay, base: date, due: date, rule: RuleVersion,
                      first: bool) -> date:
        """The rule changed between the base day and the due day (an experiment started or
        ended): the new rule's interval from the base day, but not before the new rule is
        in force — a stricter rule resuming makes the deadline fall on its first day."""
        candidate = add_months(base, _months(rule.cadence, first))
        chosen = self.choose(self.family, stay.municipality, candidate)
        if chosen is not None and chosen.id == rule.id and candidate > base:
            return candidate
        lo, hi = base, due  # rule is not in force on lo, is on hi: find the switch day
        while (hi - lo).days > 1:
            mid = lo + timedelta(days=(hi - lo).days // 2)
            chosen = self.choose(self.family, stay.municipality, mid)
            if chosen is not None and chosen.id == rule.id:
                hi = mid
            else:
                lo = mid
        return hi

    # -- CountInWindow: at least N in every whole window of W calendar months ------------
    def count_in_window(self, stay: Stay, shape: CountInWindow) -> None:
        """One deadline per month-end whose window of W months the stay covers whole; the
        rule in force on the month-end judges it (a waived month lays none down)."""
        first_month = stay.start if stay.start.day == 1 else month_end(stay.start) + ONE_DAY
        for _ in range(_MAX_STEPS):
            due = month_end(add_months(first_month, shape.window_months - 1))
            if stay.end is not None and due > stay.end:
                return
            rule = self.choose(self.family, stay.municipality, due)
            if rule is not None and isinstance(rule.cadence, CountInWindow):
                met = self._window(rule, stay, add_months(due.replace(day=1),
                                                         1 - rule.cadence.window_months), due)
                if due >= self.today:
                    if met is not None and stay.end is None:
                        self._project(rule, stay, first_month)
                    return
            elif due >= self.today:
                return
            first_month = add_months(first_month, 1)

    def _project(self, rule: RuleVersion, stay: Stay, first_month: date) -> None:
        """The current window is already met: the next due day is the first later window
        the samtaler held so far would leave short."""
        cadence = rule.cadence
        assert isinstance(cadence, CountInWindow)
        held = _held(self.person, rule, stay.municipality)
        for ahead in range(1, cadence.window_months + 1):
            first = add_months(first_month, ahead)
            due = month_end(add_months(first, cadence.window_months - 1))
            if sum(1 for d in held if first <= d <= due) < cadence.min_count:
                self.projected.append(due)
                return

    def _window(self, rule: RuleVersion, stay: Stay, first: date, due: date) -> date | None:
        cadence = rule.cadence
        assert isinstance(cadence, CountInWindow)
        inside = [d for d in _held(self.person, rule, stay.municipality) if first <= d <= due]
        met = inside[cadence.min_count - 1] if len(inside) >= cadence.min_count else None
        if _exempt(self.person.state.exemptions, due):
            self.add(rule, stay.municipality, due, None, "exempt")
        elif met is None and due < self.today:
            self.add(rule, stay.municipality, due, None, "missed")
        else:
            self.add(rule, stay.municipality, due, met)
        return met

    # -- BenefitClock: 12 months of benefit within 18, done by 18 months of benefit ------
    def benefit_clock(self, stays: list[Stay], clock: BenefitClock) -> None:
        days: dict[date, str] = {}
        for stay in stays:
            day, end = stay.start, stay.end if stay.end is not None else self.today
            while day <= end:
                days[day] = stay.municipality
                day += ONE_DAY
        if not days:
            return
        trigger_days = months_in_days(clock.trigger_months)
        deadline_days = months_in_days(clock.deadline_months)
        still_open = any(s.end is None for s in stays)
        day, last_day = min(days), max(days)
        window: deque[date] = deque()
        triggered: date | None = None
        used = 0  # benefit days since the first day of the window that triggered
        for _ in range(100_000):
            if day > last_day:
                if triggered is None or not still_open:
                    return
            if day in days:
                window.append(day)
                used += 1
            while window and window[0] <= add_months(day, -clock.window_months):
                window.popleft()
            if triggered is None and len(window) >= trigger_days:
                # 12 months of benefit within 18: the months counted to the deadline are
                # those of this window, and every benefit day after it.
                triggered, used = day, len(window)
            if triggered is not None:
                due = day if used >= deadline_days else None
                if due is None and day >= self.today:
                    if not still_open:
                        return  # the benefit stopped short of the deadline: none is due
                    due = day + timedelta(days=deadline_days - used)  # if benefit goes on
                if due is not None:
                    restart = self._reassessment(triggered, due, days)
                    window.clear()
                    triggered, used = None, 0
                    if restart is None or restart > self.today:
                        return
                    day = restart
                    continue
            day += ONE_DAY

    def _reassessment(self, triggered: date, due: date, days: dict[date, str]) -> date | None:
        """Lay down one reassessment deadline; the day the clock restarts (None = stop)."""
        # The municipality paying the benefit on the due day (or on its last benefit day).
        municipality = days[max(d for d in days if d <= due)]
        rule = self.choose(self.family, municipality, due)
        if rule is None or isinstance(rule.cadence, Waived):
            return due + ONE_DAY  # nothing required: the clock starts again
        if _exempt(self.person.state.exemptions, due):
            self.add(rule, municipality, due, None, "exempt")
            return due + ONE_DAY
        held = [d for d in _held(self.person, rule, municipality) if triggered <= d <= self.today]
        met = held[0] if held else None
        self.add(rule, municipality, due, met)
        return None if met is None else met + ONE_DAY


def _months(cadence: object, first: bool) -> int:
    assert isinstance(cadence, Interval)
    return cadence.first_within_months if first else cadence.then_every_months


def citizen_deadlines(person: ExperimentCitizen, family: str, today: date,
                      choose: Chooser = _default_chooser) -> CitizenDeadlines:
    """Every deadline of `family` for the citizen up to the first one not yet met."""
    ordinary = next(v for v in RULE_FAMILIES[family] if v.variant == "ordinary")
    walk = _Walk(person, family, today, choose)
    stays = target_group_stays(person, ordinary.target_group)
    cadence = ordinary.cadence
    if isinstance(cadence, BenefitClock):
        walk.benefit_clock(stays, cadence)
    for stay in stays if not isinstance(cadence, BenefitClock) else ():
        if isinstance(cadence, CountInWindow):
            walk.count_in_window(stay, cadence)
        elif isinstance(cadence, Interval) and cadence.anchor == "loentilskud":
            for spell in person.state.tilbud:
                if spell.kind not in LOENTILSKUD:
                    continue
                start = max(spell.start, stay.start)
                ends = [d for d in (spell.end, stay.end) if d is not None]
                last = min(ends) if ends else None
                if last is None or start <= last:
                    walk.interval(stay, start, last)
        else:
            walk.interval(stay, stay.start, stay.end)
    found = tuple(sorted(walk.found, key=lambda d: d.due))
    unmet = [d for d in found if d.status in ("overdue", "open")]
    closed = [d for d in found if d.due < today and d.status != "exempt"]
    behind = any(d.status == "overdue" for d in found) or (
        bool(closed) and closed[-1].status == "missed")
    upcoming = [d.due for d in unmet] + walk.projected
    return CitizenDeadlines(person.citizen_id, family, found,
                            min(upcoming) if upcoming else None, behind)


def month_of(day: date) -> str:
    return month_start(day).isoformat()[:7]
