"""The simulator's entry point: fagsystem traffic for all citizens, in send-time order.

Citizens are told month by month and what they send is filed in monthly buckets, so memory
grows with the number of citizens (about 10 kB each), never with the number of events.
Everything random comes from per-citizen generators derived from (seed, ordinal), so a
seed always gives the same traffic.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from kommunepuls.simulator import clock, model
from kommunepuls.simulator.citizens import CitizenStory
from kommunepuls.simulator.emission import Emission, to_envelope
from kommunepuls.simulator.facts import Fact
from kommunepuls.simulator.faults import Envelope, Faults
from kommunepuls.simulator.identities import CprSequence, draw_event_id
from kommunepuls.simulator.periods import add_months, month_index
from kommunepuls.simulator.world import SimulatorError, World, build_world

# Caseworkers register during office hours, a few days late at most.
OFFICE_OPENS, OFFICE_SECONDS = 7 * clock.HOUR, 10 * clock.HOUR
# Registration lag in days: 60 % the same day, 25 % the next, 10 % two, 5 % three days.
LAG = tuple(clock.DAY * d for d in (0,) * 12 + (1,) * 5 + (2,) * 2 + (3,))
# eIndkomst files arrive as a night batch.
NIGHT_BATCH, NIGHT_SECONDS = 2 * clock.HOUR, 3 * clock.HOUR
# Emissions by month_index of emit_at: (clock seconds, ordinal, sequence) sort them, then
# envelope, valid, fault.
Buckets = dict[int, list[tuple[int, int, int, Envelope, bool, str | None]]]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What to simulate. Shares are per event (per envelope of ordinary traffic)."""

    seed: int = 0
    citizens: int = 5_000
    start: date = model.PROGRAMME_START
    end: date = model.DEFAULT_END
    late_share: float = 0.03
    duplicate_share: float = 0.01
    retraction_share: float = 0.005
    invalid_share: float = 0.002
    municipalities: tuple[str, ...] | None = None
    # 1 = the contract as in domain.md §3; 2 = samtale data v2 (form `in_person`).
    samtale_schema_version: int = 1

    def __post_init__(self) -> None:
        if self.citizens < 0:
            raise SimulatorError("citizens must be >= 0")
        if self.end < self.start:
            raise SimulatorError("end must not be before start")
        for name in ("late_share", "duplicate_share", "retraction_share", "invalid_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SimulatorError(f"{name} must be between 0 and 1")
        if self.samtale_schema_version not in (1, 2):
            raise SimulatorError("samtale_schema_version must be 1 or 2")


def generate(config: SimConfig) -> Iterator[Emission]:
    """All emissions of the run in emit_at order (ties: by citizen ordinal, then sequence).

    Raises SimulatorError at once for an unusable config (e.g. an unknown municipality);
    the emissions themselves are made lazily, as they are consumed.
    """
    world = build_world(config.seed, config.citizens, config.municipalities)
    return _run(config, world)


def _run(config: SimConfig, world: World) -> Iterator[Emission]:
    # Month by month, every citizen tells that month and files what it sends into monthly
    # buckets. Once a month is told nothing can still land in its bucket (a fact is never
    # sent before it happens), so the bucket is sorted and yielded.
    cprs = CprSequence(config.seed)
    faults = Faults(
        config.late_share, config.duplicate_share, config.retraction_share, config.invalid_share
    )
    senders: list[_Sender] = []
    for code, count in world.allocation():
        for _ in range(count):
            senders.append(_Sender(config, world, cprs, faults, len(senders), code))
    buckets: Buckets = {}
    month = add_months(config.start, 0)
    while month <= config.end:
        still = []
        for sender in senders:
            sender.send(sender.story.month(month), buckets)
            if sender.story.done:
                sender.send(sender.story.tail(), buckets)
            else:
                still.append(sender)
        senders = still
        due = buckets.pop(month_index(month), [])
        due.sort()
        for sent, _, _, envelope, valid, fault in due:
            yield Emission(clock.at(sent), envelope, valid, fault)
        month = add_months(month, 1)
    assert not buckets, "every emission is due by the end; later ones are dropped"


class _Sender:
    """One citizen's fagsystem: turns facts into timed envelopes, with faults."""

    def __init__(
        self,
        config: SimConfig,
        world: World,
        cprs: CprSequence,
        faults: Faults,
        ordinal: int,
        code: str,
    ) -> None:
        seed = config.seed
        # One generator for the story, another for sending it (ids, timing, faults): a
        # fault rate changes how things are sent, never what happens. Two, not more: each
        # holds 2.5 kB of state, times tens of thousands of citizens.
        self.sending = random.Random(f"send:{seed}:{ordinal}")
        self.cpr, born = cprs.cpr(ordinal)
        self.story = CitizenStory(
            ordinal,
            self.cpr,
            born,
            world.profiles[code],
            world,
            random.Random(f"story:{seed}:{ordinal}"),
            config.start,
            config.end,
        )
        self.ordinal, self.faults = ordinal, faults
        self.samtale_version = config.samtale_schema_version
        self.stop = clock.midnight(config.end) + clock.DAY - 1
        self.last_sent = 0
        self.seq = 0

    def new_id(self) -> str:
        return draw_event_id(self.sending)

    def send(self, facts: list[Fact], buckets: Buckets) -> None:
        r, stop, ordinal, seq = self.sending.random, self.stop, self.ordinal, self.seq
        for fact in facts:
            envelope = to_envelope(fact, self.new_id(), self.cpr, self.samtale_version)
            day = clock.midnight(fact.occurred)
            if fact.source == model.EINDKOMST_SOURCE:
                sent = day + NIGHT_BATCH + int(r() * NIGHT_SECONDS)
            else:
                natural = day + OFFICE_OPENS + LAG[int(r() * len(LAG))] + int(r() * OFFICE_SECONDS)
                # A case system sends a case's registrations in the order they were made.
                sent = self.last_sent = max(natural, self.last_sent + 1)
            faulty = self.faults.apply(envelope, sent, self.sending, self.new_id)
            for at, body, valid, fault in faulty or ((sent, envelope, True, None),):
                if at <= stop:
                    key = clock.month_of(at)
                    bucket = buckets.get(key)
                    if bucket is None:
                        bucket = buckets[key] = []
                    bucket.append((at, ordinal, seq, body, valid, fault))
                    seq += 1
        self.seq = seq


def count_citizens(config: SimConfig) -> dict[str, int]:
    """Citizens per municipality for a config (no events are generated)."""
    return dict(build_world(config.seed, config.citizens, config.municipalities).allocation())
