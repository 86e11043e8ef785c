"""An experiment's status against its numeric targets, measured from the events.

Each registry target names a measure; each measure here says in one docstring what it
counts. Counts are of citizens unless the target says businesses. Follow-up based
measures also report how many are not yet due, so "12 of 55 businesses alive after two
years" is never read while 40 are too young to tell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from kommunepuls.domain.event_data import VIRKSOMHEDSRETTET
from kommunepuls.domain.rounding import round_half_up
from kommunepuls.experiments.citizen import ExperimentCitizen
from kommunepuls.experiments.followup import cvr_survival, self_support_after_microloan
from kommunepuls.experiments.membership import Member, members, population
from kommunepuls.experiments.registry import Experiment, Target, Words

VIRKSOMHEDSRETTET_KINDS = frozenset(k.value for k in VIRKSOMHEDSRETTET)
LOENTILSKUD = frozenset({"loentilskud_privat", "loentilskud_offentlig"})


@dataclass(frozen=True, slots=True)
class Measured:
    value: Decimal | None
    numerator: int | None = None
    denominator: int | None = None
    not_yet_due: int | None = None


@dataclass(frozen=True, slots=True)
class TargetStatus:
    id: str
    title: Words
    target: Decimal
    unit: str
    direction: str
    measure: str | None
    value: Decimal | None
    met: bool | None
    numerator: int | None
    denominator: int | None
    not_yet_due: int | None


People = Sequence[tuple[ExperimentCitizen, tuple[Member, ...]]]
Measure = Callable[[Experiment, Target, People, date], Measured]


def _count(found: int) -> Measured:
    return Measured(Decimal(found), found)


def marked_citizens(entry: Experiment, target: Target, people: People, today: date) -> Measured:
    """Citizens with a stay in the experiment (marked, or in by its rule)."""
    return _count(sum(1 for _, stays in people if stays))


def members_with_cvr(entry: Experiment, target: Target, people: People,
                     today: date) -> Measured:
    """Members who registered a business (cvr_registered) while a member."""
    return _count(sum(1 for person, stays in people if any(
        s.start <= c.start <= s.last_day(today)
        for s in stays for c in person.state.cvr_registrations)))


def cvr_alive_24m(entry: Experiment, target: Target, people: People, today: date) -> Measured:
    """Businesses started while a member and alive 24 months after registration."""
    results = [r for person, stays in people for s in stays
               for r in cvr_survival(s, person, (24,), today)]
    yes = sum(r.outcome == "yes" for r in results)
    due = sum(r.outcome != "not_yet_due" for r in results)
    return Measured(Decimal(yes), yes, due, len(results) - due)


def microloans_granted(entry: Experiment, target: Target, people: People,
                       today: date) -> Measured:
    """Members granted a microloan while a member."""
    return _count(sum(1 for person, stays in people if any(
        s.start <= loan.start <= s.last_day(today)
        for s in stays for loan in person.microloans)))


def self_supporting_after_microloan(entry: Experiment, target: Target, people: People,
                                    today: date) -> Measured:
    """Members self-supporting one year after their microloan period (the first follow-up
    point, seeds/000 L193-195)."""
    results = [r for person, stays in people for s in stays
               for r in self_support_after_microloan(s, person, (12,), today)]
    citizens_yes = {r.citizen_id for r in results if r.outcome == "yes"}
    citizens_due = {r.citizen_id for r in results if r.outcome != "not_yet_due"}
    waiting = {r.citizen_id for r in results} - citizens_due
    return Measured(Decimal(len(citizens_yes)), len(citizens_yes), len(citizens_due),
                    len(waiting))


def _in_virksomhedsrettet(entry: Experiment, person: ExperimentCitizen, day: date) -> bool:
    in_scope = any(s.on(day) and entry.covers(s.municipality, s.target_group)
                   for s in population(entry, person, entry.municipalities))
    return in_scope and any(t.kind in VIRKSOMHEDSRETTET_KINDS and t.start <= day
                            and (t.end is None or day <= t.end) for t in person.state.tilbud)


def virksomhedsrettet_growth(entry: Experiment, target: Target, people: People,
                             today: date) -> Measured:
    """Citizens of the target groups in the experiment municipalities in a virksomhedsrettet
    tilbud on the reference day (today, or the experiment's last day) against the baseline
    day: the change in percent (seeds/000 L1370, L1392)."""
    if target.baseline is None:
        return Measured(None)
    reference = min(today, entry.end.on)
    now = sum(_in_virksomhedsrettet(entry, p, reference) for p, _ in people)
    base = sum(_in_virksomhedsrettet(entry, p, target.baseline.on) for p, _ in people)
    if base == 0:
        return Measured(None, now, base)
    return Measured(round_half_up(Decimal(100 * (now - base)) / Decimal(base)), now, base)


def progressed(person: ExperimentCitizen, stay: Member, today: date) -> bool:
    """seeds/000 L1410-1416: changed category (aktivitetsparat -> jobparat), or after a
    virksomhedsrettet tilbud ordinary hours, education or a løntilskud job."""
    last = stay.last_day(today)
    memberships = person.state.memberships
    if any(m.target_group == "kontanthjaelp_jobparat" and stay.start <= m.start <= last
           and any(a.target_group == "kontanthjaelp_aktivitetsparat" and a.start < m.start
                   for a in memberships) for m in memberships):
        return True
    tilbud = person.state.tilbud
    for spell in tilbud:
        if spell.kind not in VIRKSOMHEDSRETTET_KINDS or not stay.start <= spell.start <= last:
            continue
        after = spell.start.isoformat()[:7]
        if any(h.month > after and h.hours > 0 and h.month <= today.isoformat()[:7]
               for h in person.state.ordinary_hours):
            return True
        if any(t.start > spell.start and t.start <= today
               and (t.kind == "ordinaer_uddannelse" or t.kind in LOENTILSKUD) for t in tilbud):
            return True
    return False


def progressing_share(entry: Experiment, target: Target, people: People,
                      today: date) -> Measured:
    """The share of members who progressed (see `progressed`), in percent."""
    marked = [(p, stays) for p, stays in people if stays]
    hits = sum(any(progressed(p, s, today) for s in stays) for p, stays in marked)
    if not marked:
        return Measured(None, 0, 0)
    return Measured(round_half_up(Decimal(100 * hits) / Decimal(len(marked))), hits,
                    len(marked))


MEASURES: dict[str, Measure] = {
    "marked_citizens": marked_citizens,
    "members_with_cvr": members_with_cvr,
    "cvr_alive_24m": cvr_alive_24m,
    "microloans_granted": microloans_granted,
    "self_supporting_after_microloan": self_supporting_after_microloan,
    "virksomhedsrettet_growth": virksomhedsrettet_growth,
    "progressing_share": progressing_share,
}


def target_statuses(entry: Experiment, people: Sequence[ExperimentCitizen],
                    today: date) -> tuple[TargetStatus, ...]:
    """Every target of the experiment with its measured value (None if not measurable)."""
    with_stays = [(p, members(entry, p, today)) for p in people]
    out = []
    for target in entry.targets:
        measure = MEASURES.get(target.measure or "")
        found = Measured(None) if measure is None else measure(entry, target, with_stays, today)
        met = None
        if found.value is not None:
            met = (found.value >= target.value if target.direction == "at_least"
                   else found.value <= target.value)
        out.append(TargetStatus(target.id, target.title, target.value, target.unit,
                                target.direction, target.measure, found.value, met,
                                found.numerator, found.denominator, found.not_yet_due))
    return tuple(out)
