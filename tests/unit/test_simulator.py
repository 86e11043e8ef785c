"""The simulator's traffic: deterministic, well-formed, ordered, and with the faults asked for."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from kommunepuls.simulator import Emission, SimConfig, SimulatorError, count_citizens, generate
from kommunepuls.simulator.ndjson import (
    read_emissions,
    read_envelopes,
    write_emissions,
    write_envelopes,
)
from kommunepuls.simulator.world import allocate

ALL_TYPES = {
    "visitation",
    "visitation_ended",
    "caseworker_assigned",
    "samtale",
    "tilbud_started",
    "tilbud_ended",
    "ordinary_hours",
    "cvr_registered",
    "cvr_ceased",
    "sygemelding",
    "raskmelding",
    "exemption_started",
    "exemption_ended",
    "afklaret",
    "relocated",
    "event_retracted",
}
ENVELOPE_KEYS = {
    "event_id",
    "type",
    "schema_version",
    "municipality",
    "cpr",
    "occurred_at",
    "source",
    "case_ref",
    "data",
}
FAULTY = SimConfig(
    seed=7,
    citizens=2_000,
    late_share=0.03,
    duplicate_share=0.01,
    retraction_share=0.01,
    invalid_share=0.005,
)


@pytest.fixture(scope="module")
def run() -> list[Emission]:
    return list(generate(FAULTY))


@pytest.fixture(scope="module")
def valid(run: list[Emission]) -> list[Emission]:
    return [e for e in run if e.valid]


def _fingerprint(emissions: list[Emission]) -> list[tuple[Any, ...]]:
    return [(e.emit_at, e.valid, e.fault, sorted(e.envelope.items(), key=str)) for e in emissions]


def _cvr_ok(cvr: str) -> bool:
    weights = (2, 7, 6, 5, 4, 3, 2, 1)
    return len(cvr) == 8 and sum(int(d) * w for d, w in zip(cvr, weights, strict=True)) % 11 == 0


def test_the_same_seed_gives_the_same_traffic_and_another_seed_other_traffic() -> None:
    config = SimConfig(seed=11, citizens=150)
    first = _fingerprint(list(generate(config)))
    assert first == _fingerprint(list(generate(config)))
    other = _fingerprint(list(generate(SimConfig(seed=12, citizens=150))))
    assert first != other


def test_fault_rates_change_how_facts_are_sent_not_what_happens() -> None:
    clean = SimConfig(
        seed=5, citizens=150, late_share=0, duplicate_share=0, retraction_share=0, invalid_share=0
    )
    noisy = SimConfig(
        seed=5,
        citizens=150,
        late_share=0.2,
        duplicate_share=0.2,
        retraction_share=0.2,
        invalid_share=0.2,
    )

    def facts(config: SimConfig) -> Counter[tuple[Any, ...]]:
        # Late sends near the end fall after it and are not sent: compare what happened
        # before the latest possible delay.
        return Counter(
            (
                e.envelope["cpr"],
                e.envelope["type"],
                e.envelope["occurred_at"],
                repr(sorted(e.envelope["data"].items())),
            )
            for e in generate(config)
            if e.fault in (None, "late") and e.envelope["occurred_at"] < "2019-10-01"
        )

    assert facts(clean) == facts(noisy)
    assert all(e.fault is None and e.valid for e in generate(clean))


def test_every_event_type_appears(valid: list[Emission]) -> None:
    assert {e.envelope["type"] for e in valid} == ALL_TYPES


def test_envelopes_have_the_contract_shape(valid: list[Emission]) -> None:
    for e in valid:
        env = e.envelope
        assert set(env) == ENVELOPE_KEYS
        assert env["schema_version"] == 1
        assert env["source"].startswith("sim-")
        assert len(env["event_id"]) == 36 and env["event_id"][14] == "4"
        assert date.fromisoformat(env["occurred_at"]) <= e.emit_at.date()


def test_event_ids_are_unique_except_for_duplicates(run: list[Emission]) -> None:
    ids = Counter(e.envelope["event_id"] for e in run)
    resent = Counter(e.envelope["event_id"] for e in run if e.fault == "duplicate")
    assert all(ids[i] == 1 + resent[i] for i in ids)


def test_cprs_start_with_a_real_date_and_citizens_do_not_share_them(valid: list[Emission]) -> None:
    cprs = {e.envelope["cpr"] for e in valid}
    for cpr in cprs:
        assert len(cpr) == 10 and cpr.isdigit()
        date(1900 + int(cpr[4:6]), int(cpr[2:4]), int(cpr[0:2]))  # raises if not a date
    visited = Counter(
        e.envelope["cpr"]
        for e in valid
        if e.envelope["type"] == "visitation" and e.envelope["data"]["group"] != 6
    )
    # One citizen per CPR: at most a re-visit after a move or a regrouping per citizen.
    assert len(cprs) == FAULTY.citizens
    assert max(visited.values()) <= 4


def test_all_cvr_numbers_pass_modulus_11(valid: list[Emission]) -> None:
    cvrs = [e.envelope["data"]["cvr"] for e in valid if e.envelope["data"].get("cvr")]
    assert len(cvrs) > 1_000
    assert all(_cvr_ok(c) for c in cvrs)


def test_emissions_come_in_send_order_within_the_run(run: list[Emission]) -> None:
    times = [e.emit_at for e in run]
    assert times == sorted(times)
    assert times[0] >= datetime(2017, 8, 1) and times[-1] <= datetime(2019, 12, 31, 23, 59, 59)


def test_duplicates_are_exact_copies_sent_later(run: list[Emission]) -> None:
    first: dict[str, Emission] = {}
    duplicates = 0
    for e in run:
        if e.fault == "duplicate":
            original = first[e.envelope["event_id"]]
            assert original.envelope == e.envelope and original.emit_at <= e.emit_at
            duplicates += 1
        else:
            first.setdefault(e.envelope["event_id"], e)
    assert duplicates > 100


def test_retractions_reference_an_earlier_event_and_are_followed_by_a_correction(
    run: list[Emission],
) -> None:
    sent: dict[str, dict[str, Any]] = {}
    retracted: dict[str, dict[str, Any]] = {}
    corrections = 0
    for e in run:
        env = e.envelope
        if env["type"] == "event_retracted":
            original = sent[env["data"]["event_id"]]
            assert (original["cpr"], original["municipality"]) == (env["cpr"], env["municipality"])
            retracted[env["cpr"]] = original
        elif e.fault == "correction":
            original = retracted[env["cpr"]]
            assert env["type"] == original["type"] and env["event_id"] != original["event_id"]
            assert env["data"] != original["data"]
            corrections += 1
        sent.setdefault(env["event_id"], env)
    assert len(retracted) > 50 and corrections > 50


def test_invalid_emissions_are_flagged_with_a_reason(run: list[Emission]) -> None:
    invalid = [e for e in run if not e.valid]
    assert len(invalid) > 100
    reasons = Counter(e.fault for e in invalid)
    assert all(r is not None and r.startswith("invalid:") for r in reasons)
    assert len(reasons) == 7
    assert all(e.fault is None or not e.fault.startswith("invalid:") for e in run if e.valid)


def test_late_emissions_are_sent_weeks_after_they_happened(run: list[Emission]) -> None:
    late = [e for e in run if e.fault == "late"]
    assert late
    for e in late:
        assert (e.emit_at.date() - date.fromisoformat(e.envelope["occurred_at"])).days >= 14


def test_each_citizen_has_a_plausible_number_of_events(valid: list[Emission]) -> None:
    per_citizen = Counter(e.envelope["cpr"] for e in valid)
    mean = sum(per_citizen.values()) / len(per_citizen)
    assert 20 <= mean <= 80
    assert min(per_citizen.values()) >= 2 and max(per_citizen.values()) <= 250


def test_a_citizens_events_make_sense_in_order(valid: list[Emission]) -> None:
    by_citizen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    retracted = {
        e.envelope["data"]["event_id"] for e in valid if e.envelope["type"] == "event_retracted"
    }
    for e in valid:
        if e.fault != "duplicate" and e.envelope["event_id"] not in retracted:
            by_citizen[e.envelope["cpr"]].append(e.envelope)
    for events in by_citizen.values():
        events.sort(key=lambda env: env["occurred_at"])
        first_day = events[0]["occurred_at"]
        assert any(
            env["type"] == "visitation" and env["occurred_at"] == first_day for env in events
        )
        starts: dict[str, str] = {}
        sick_from = None
        for env in events:
            data, day = env["data"], env["occurred_at"]
            if env["type"] == "tilbud_started":
                starts[data["tilbud_id"]] = day
            elif env["type"] == "tilbud_ended":
                assert starts.pop(data["tilbud_id"]) <= day  # started, and not after its end
            elif env["type"] == "sygemelding":
                assert sick_from is None
                sick_from = data["first_sick_day"]
            elif env["type"] == "raskmelding":
                assert sick_from is not None and sick_from < data["fit_from"]
                sick_from = None
            elif env["type"] == "relocated":
                assert data["to_municipality"] != env["municipality"]
        ended = [env for env in events if env["type"] in ("afklaret", "visitation_ended")]
        if ended:
            last_day = ended[-1]["occurred_at"]
            after = {env["type"] for env in events if env["occurred_at"] > last_day}
            # eIndkomst still reports the last months worked; corrections may come later.
            assert after <= {"ordinary_hours", "event_retracted"}


def test_a_municipality_subset_gets_all_the_citizens() -> None:
    config = SimConfig(seed=3, citizens=300, municipalities=("851", "101", "461"))
    counts = count_citizens(config)
    assert set(counts) == {"101", "461", "851"} and sum(counts.values()) == 300
    homes = {e.envelope["municipality"] for e in generate(config) if e.valid}
    assert homes <= {"101", "461", "851"}


def test_citizens_are_split_in_proportion_to_population() -> None:
    # Largest remainder; a tie (a and b both 2.5) goes to the lower code.
    assert allocate(10, {"a": 1, "b": 1, "c": 2}) == {"a": 3, "b": 2, "c": 5}
    counts = count_citizens(SimConfig(citizens=20_000))
    assert len(counts) == 98 and sum(counts.values()) == 20_000
    assert counts["101"] > counts["851"] > counts["825"]


def test_bad_configs_are_refused() -> None:
    with pytest.raises(SimulatorError):
        SimConfig(late_share=1.5)
    with pytest.raises(SimulatorError):
        SimConfig(start=date(2019, 1, 1), end=date(2018, 1, 1))
    with pytest.raises(SimulatorError):
        generate(SimConfig(municipalities=("999",)))


def test_samtale_can_be_sent_as_data_version_2() -> None:
    config = SimConfig(seed=1, citizens=50, samtale_schema_version=2)
    samtaler = [e.envelope for e in generate(config) if e.valid and e.envelope["type"] == "samtale"]
    assert samtaler and all(s["schema_version"] == 2 for s in samtaler)
    assert {s["data"]["form"] for s in samtaler} <= {"in_person", "phone", "digital", "group"}


def test_ndjson_files_read_back_what_was_written(tmp_path: Path) -> None:
    emissions = list(generate(SimConfig(seed=2, citizens=40, invalid_share=0.05)))
    assert write_emissions(emissions, tmp_path / "run.ndjson.gz") == len(emissions)
    assert list(read_emissions(tmp_path / "run.ndjson.gz")) == emissions
    assert write_envelopes(emissions, tmp_path / "run.ndjson") == len(emissions)
    assert list(read_envelopes(tmp_path / "run.ndjson")) == [e.envelope for e in emissions]


def test_valid_emissions_parse_and_invalid_ones_do_not(run: list[Emission]) -> None:
    events = pytest.importorskip("kommunepuls.domain.events")
    from pydantic import ValidationError

    today = date(2026, 1, 1)
    # Every invalid one, every type, and a tenth of the (samtale-heavy) rest: parsing all
    # 70,000 would take most of this suite's time budget.
    seen_types: set[str] = set()
    for i, e in enumerate(run):
        if not e.valid:
            with pytest.raises(ValidationError):
                events.parse_event(e.envelope, today=today)
        elif e.envelope["type"] not in seen_types or e.fault or i % 10 == 0:
            seen_types.add(e.envelope["type"])
            events.parse_event(e.envelope, today=today)
    assert seen_types == ALL_TYPES
