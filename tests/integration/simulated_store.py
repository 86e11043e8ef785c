"""A small simulated event store, stored through ingest's intake (faults on)."""

from datetime import date

import asyncpg
from prometheus_client import CollectorRegistry

from kommunepuls.auth import Principal, Role
from kommunepuls.config import Settings
from kommunepuls.reference import municipalities
from kommunepuls.simulator.generator import SimConfig, generate
from services.ingest.intake import IntakeMetrics, RawItem, ingest_items


async def load_simulated(settings: Settings, db: asyncpg.Pool, *, citizens: int, today: date,
                         seed: int = 3) -> int:
    """Store what the simulator sends up to `today` (late, duplicate, retracted and invalid
    events included, at raised shares); return the number of events accepted."""
    config = SimConfig(seed=seed, citizens=citizens, end=today, late_share=0.05,
                       duplicate_share=0.02, retraction_share=0.02)
    envelopes = [e.envelope for e in generate(config) if e.emit_at.date() <= today]
    principal = Principal("sim", Role.fagsystem, frozenset(municipalities()))
    metrics = IntakeMetrics(CollectorRegistry())
    accepted = 0
    for start in range(0, len(envelopes), 5_000):
        outcome = await ingest_items([RawItem(e) for e in envelopes[start:start + 5_000]],
                                     principal=principal, pool=db, metrics=metrics,
                                     pseudonym_key=settings.secret("pseudonym_key"))
        accepted += outcome.accepted
    return accepted
