"""Simulated fagsystem traffic for frikommune experiments, to merge into the FSM stream.

    stream = merge(generate(SimConfig(...)), experiment_traffic(ExperimentTrafficConfig()))

Four experiments, each with trial citizens in its municipalities (and, where a comparison
matters, ordinary citizens elsewhere), so the demo shows markings, follow-ups, deadlines
and a comparison live:

- ivaerksaetteri_dimittender (Aalborg, Frederikshavn): marked graduates; a share start a
  business and some of those close it, in the proportions of the targets (100 plans, 55
  businesses, 40 alive after two years: seeds/000 L245, L254, L257); starting the business
  ends the benefit and so the marking (seeds/003 L566);
- mikrolaan (Aalborg): marked citizens; microloans for 60 of 80 (seeds/003 L3470, seeds/000
  L66) granted after the course's 12 weeks (seeds/003 L9760, "Uge 12 ... bevilling af
  mikrolån"), a 6-month loan period (seeds/000 L198), then self-support for 45 of 60
  (seeds/000 L69);
- integration_kontaktforloeb (Vesthimmerland; Thisted as an ordinary municipality):
  integrationsydelse stays with samtaler; in the trial, from its start, phone and group
  samtaler too (seeds/001 L726-728);
- ledighedsydelse_revurdering (Aalborg, Rebild; København as an ordinary municipality):
  ledighedsydelse stays with contact samtaler and, where the ordinary rule holds, a
  revurdering around 12 months (seeds/003 L2714).

Shares not stated in the seeds (how often a samtale is late, how the timing spreads) are
the simulator's own choices, named as constants below. CPR serials 5000-9999 keep these
citizens apart from the FSM simulator's (serials 0000-3999).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from kommunepuls.experiments.registry import registry
from kommunepuls.simulator import clock, model
from kommunepuls.simulator.emission import Emission
from kommunepuls.simulator.identities import draw_cvr, draw_event_id

SOURCE = "sim-frikommune"
SERIAL_BASE = 5000  # FSM citizens use serials 0000-3999
# Target proportions (seeds/000 L245-257; seeds/003 L3470; seeds/000 L66, L69).
BUSINESS_SHARE, ALIVE_SHARE = 55 / 100, 40 / 55
LOAN_SHARE, SELF_SUPPORT_SHARE = 60 / 80, 45 / 60
COURSE_DAYS, LOAN_MONTHS = 12 * 7, 6
# The simulator's own choices (not in the seeds).
SAMTALE_EVERY_DAYS = (60, 100)  # spread of days between samtaler
NO_SHOW_SHARE = 0.1
REVURDERING_DAYS = (330, 420)  # when an ordinary municipality holds the reassessment
INTEGRATION_ORDINARY = "787"  # Thisted: not in the integration experiment
LY_ORDINARY = "101"  # København: not in the ledighedsydelse experiment


@dataclass(frozen=True, slots=True)
class ExperimentTrafficConfig:
    seed: int = 0
    start: date = date(2017, 7, 1)
    end: date = model.DEFAULT_END
    citizens_per_municipality: int = 20
    experiments: tuple[str, ...] = ("ivaerksaetteri_dimittender", "mikrolaan",
                                    "integration_kontaktforloeb", "ledighedsydelse_revurdering")


@dataclass
class _Citizen:
    cpr: str
    municipality: str
    rng: random.Random
    facts: list[tuple[date, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, day: date, event_type: str, /, **data: Any) -> None:
        self.facts.append((day, event_type, data))

    def visit(self, day: date, programme: str, target_group: str) -> None:
        self.add(day, "visitation", programme=programme, target_group=target_group, group=None)


def _cpr(ordinal: int) -> str:
    # Born 1970-1999, spread by ordinal; serial from 5000 up.
    born = date(1970, 1, 1) + timedelta(days=(ordinal * 7919) % (30 * 365))
    return f"{born:%d%m%y}{SERIAL_BASE + ordinal % 5000:04d}"


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max((last - first).days, 0)))


def _samtaler(c: _Citizen, first: date, last: date, forms: tuple[str, ...],
              kind: str = "ordinary") -> None:
    day = first + timedelta(days=c.rng.randint(7, 30))
    while day <= last:
        c.add(day, "samtale", form=c.rng.choice(forms), held=c.rng.random() >= NO_SHOW_SHARE,
              kind=kind)
        day += timedelta(days=c.rng.randint(*SAMTALE_EVERY_DAYS))


def _graduate(c: _Citizen, start: date, end: date) -> None:
    marked = _day_between(c.rng, start, end - timedelta(days=60))
    c.visit(marked, "ivaerksaetteri_dimittender", "dagpenge_dimittend")
    if c.rng.random() < BUSINESS_SHARE:
        registered = marked + timedelta(days=c.rng.randint(30, 150))
        if registered <= end:
            cvr = draw_cvr(c.rng)
            c.add(registered, "cvr_registered", cvr=cvr)
            c.add(registered, "visitation_ended", programme="ivaerksaetteri_dimittender",
                  reason="cvr_registreret")
            if c.rng.random() >= ALIVE_SHARE:
                ceased = registered + timedelta(days=c.rng.randint(60, 700))
                if ceased <= end:
                    c.add(ceased, "cvr_ceased", cvr=cvr)


def _microloan(c: _Citizen, start: date, end: date) -> None:
    marked = _day_between(c.rng, start, end - timedelta(days=COURSE_DAYS))
    c.visit(marked, "mikrolaan", "kontanthjaelp_jobparat")
    granted = marked + timedelta(days=COURSE_DAYS)
    if c.rng.random() >= LOAN_SHARE or granted > end:
        c.add(min(granted, end), "visitation_ended", programme="mikrolaan", reason="afsluttet")
        return
    loan = f"ML-{c.cpr[-4:]}"
    c.add(granted, "microloan_granted", loan_id=loan, amount_dkk=c.rng.randint(10, 50) * 1000)
    last = granted + timedelta(days=LOAN_MONTHS * 30)
    if last > end:
        return
    c.add(last, "microloan_ended", loan_id=loan)
    if c.rng.random() < SELF_SUPPORT_SHARE:
        c.add(last + timedelta(days=1), "afklaret", outcome="self_employment")
    else:
        c.add(last, "visitation_ended", programme="mikrolaan", reason="afsluttet")


def _integration(c: _Citizen, start: date, end: date, trial_from: date | None) -> None:
    entered = _day_between(c.rng, start, end - timedelta(days=90))
    c.visit(entered, "integrationsprogram", "integrationsydelse")
    ordinary, relaxed = ("in_person",), ("in_person", "phone", "digital", "group")
    if trial_from is None or trial_from > end:
        _samtaler(c, entered, end, ordinary)
        return
    _samtaler(c, entered, min(end, trial_from - timedelta(days=1)), ordinary)
    _samtaler(c, max(entered, trial_from), end, relaxed)


def _ledighedsydelse(c: _Citizen, start: date, end: date, waived_from: date | None) -> None:
    entered = _day_between(c.rng, start, end - timedelta(days=120))
    c.visit(entered, "kontaktforloeb", "ledighedsydelse")
    _samtaler(c, entered, end, ("in_person", "phone"))
    day = entered + timedelta(days=c.rng.randint(*REVURDERING_DAYS))
    if day <= end and (waived_from is None or day < waived_from):
        c.add(day, "samtale", form="in_person", held=True, kind="revurdering")


def _envelopes(c: _Citizen, rng: random.Random, end: date) -> Iterator[Emission]:
    last_sent = 0
    for day, kind, data in sorted(c.facts, key=lambda f: f[0]):  # stable: same-day order kept
        if day > end:
            continue
        # A case system sends a case's registrations in the order they were made.
        natural = clock.midnight(day) + 8 * clock.HOUR + rng.randint(0, 8 * clock.HOUR)
        sent = last_sent = max(natural, last_sent + 1)
        yield Emission(clock.at(sent), {
            "event_id": draw_event_id(rng), "type": kind,
            "schema_version": 2 if kind == "samtale" else 1, "municipality": c.municipality,
            "cpr": c.cpr, "occurred_at": day.isoformat(), "source": SOURCE,
            "case_ref": None, "data": data})


def experiment_traffic(config: ExperimentTrafficConfig) -> Iterator[Emission]:
    """Every experiment citizen's envelopes, in emit_at order (all valid)."""
    known = registry()
    plans: list[tuple[str, str]] = []  # (experiment, municipality)
    for experiment in config.experiments:
        entry = known[experiment]
        plans += [(experiment, m) for m in entry.municipalities]
        if experiment == "integration_kontaktforloeb":
            plans.append((experiment, INTEGRATION_ORDINARY))
        if experiment == "ledighedsydelse_revurdering":
            plans.append((experiment, LY_ORDINARY))
    streams = []
    ordinal = 0
    for experiment, municipality in plans:
        entry = known[experiment]
        in_trial = municipality in entry.municipalities
        for _ in range(config.citizens_per_municipality):
            rng = random.Random(f"frikommune:{config.seed}:{ordinal}")
            c = _Citizen(_cpr(ordinal), municipality, rng)
            first, last = max(config.start, entry.start.on), min(config.end, entry.end.on)
            if experiment == "ivaerksaetteri_dimittender":
                _graduate(c, first, last)
            elif experiment == "mikrolaan":
                _microloan(c, first, last)
            elif experiment == "integration_kontaktforloeb":
                _integration(c, config.start, config.end,
                             entry.start.on if in_trial else None)
            elif experiment == "ledighedsydelse_revurdering":
                _ledighedsydelse(c, config.start, config.end,
                                 entry.start.on if in_trial else None)
            streams.append(list(_envelopes(c, random.Random(f"send:{config.seed}:{ordinal}"),
                                           config.end)))
            ordinal += 1
    return merge(*streams)


def merge(*streams: Iterable[Emission]) -> Iterator[Emission]:
    """Emissions of several streams in one emit_at order (each stream already ordered)."""
    return heapq.merge(*streams, key=lambda e: e.emit_at)
