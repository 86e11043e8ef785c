"""Simulated experiment traffic: valid envelopes, in order, mergeable with the FSM stream,
and enough of it that at least three experiments show members and follow-ups."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from itertools import islice

from kommunepuls.domain.events import parse_event, to_stored
from kommunepuls.domain.identifiers import citizen_id
from kommunepuls.experiments.citizen import read_citizens
from kommunepuls.experiments.followup import followups_of
from kommunepuls.experiments.membership import members
from kommunepuls.experiments.registry import registry
from kommunepuls.simulator import SimConfig, generate
from kommunepuls.simulator.experiments import ExperimentTrafficConfig, experiment_traffic, merge

CONFIG = ExperimentTrafficConfig(seed=3, citizens_per_municipality=12)
END = CONFIG.end


def test_every_envelope_is_valid_and_in_send_order() -> None:
    emissions = list(experiment_traffic(CONFIG))
    assert emissions and all(e.valid for e in emissions)
    assert [e.emit_at for e in emissions] == sorted(e.emit_at for e in emissions)
    for emission in emissions:
        parse_event(emission.envelope, today=END)  # raises on any invalid envelope
    kinds = Counter(e.envelope["type"] for e in emissions)
    assert {"visitation", "samtale", "cvr_registered", "microloan_granted",
            "microloan_ended"} <= set(kinds)


def test_the_same_seed_gives_the_same_traffic() -> None:
    first = [e.envelope for e in experiment_traffic(CONFIG)]
    again = [e.envelope for e in experiment_traffic(CONFIG)]
    assert first == again


def test_it_merges_with_the_fsm_stream_without_sharing_citizens() -> None:
    fsm = list(islice(generate(SimConfig(seed=3, citizens=50)), 2000))
    ours = list(experiment_traffic(CONFIG))
    merged = list(merge(fsm, ours))
    assert len(merged) == len(fsm) + len(ours)
    assert [e.emit_at for e in merged] == sorted(e.emit_at for e in merged)
    assert not {e.envelope["cpr"] for e in fsm} & {e.envelope["cpr"] for e in ours}


def test_at_least_three_experiments_have_members_and_follow_ups() -> None:
    key = b"k" * 32
    recorded = datetime(2020, 1, 1, tzinfo=UTC)
    stored = [to_stored(parse_event(e.envelope, today=END),
                        citizen_id=citizen_id(e.envelope["cpr"], key), position=i + 1,
                        recorded_at=recorded)
              for i, e in enumerate(experiment_traffic(CONFIG))]
    people = read_citizens(stored)
    today = date(2020, 1, 1)
    with_members = {}
    for experiment in CONFIG.experiments:
        entry = registry()[experiment]
        stays = [(p, s) for p in people for s in members(entry, p, today)]
        followed = [r for p, s in stays for f in entry.followups
                    for r in followups_of(f, s, p, today)]
        with_members[experiment] = (len(stays), len(followed))
    assert sum(1 for n, _ in with_members.values() if n > 0) >= 3, with_members
    assert with_members["ivaerksaetteri_dimittender"][1] > 0
    assert with_members["mikrolaan"][1] > 0
