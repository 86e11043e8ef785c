"""The faults real senders make, injected on purpose so every error path gets traffic.

Faults draw from the sending generator, not the story's: a rate changes how facts are
sent (and so later ids and send times), never what happens to the citizens.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from kommunepuls.simulator import clock
from kommunepuls.simulator.clock import DAY, MINUTE
from kommunepuls.simulator.draws import between
from kommunepuls.simulator.emission import copy_envelope
from kommunepuls.simulator.identities import break_cvr

Envelope = dict[str, Any]
# Types whose data a caseworker can get wrong and correct by retract-and-resend.
RETRACTABLE = frozenset({"samtale", "ordinary_hours", "tilbud_started", "sygemelding"})
LATE_DAYS = (14, 56)
DUPLICATE_DELAY_MINUTES = (1, 3 * 24 * 60)
RETRACTION_DELAY_DAYS = (1, 30)


# An emission while the run is being made: (clock seconds, envelope, valid, fault).
Sent = tuple[int, Envelope, bool, str | None]


class Faults:
    def __init__(self, late: float, duplicate: float, retraction: float, invalid: float) -> None:
        self.late, self.duplicate = late, duplicate
        self.retraction, self.invalid = retraction, invalid

    def apply(
        self, envelope: Envelope, sent: int, rng: random.Random, new_id: Callable[[], str]
    ) -> list[Sent] | None:
        """The emissions for one envelope sent at clock second `sent`: itself, perhaps late,
        plus any faulty extras; None when it goes out as it is (the common case, kept
        free of allocations)."""
        r = rng.random
        u_late, u_dup, u_retract, u_invalid, u_pick = r(), r(), r(), r(), r()
        if (
            u_late >= self.late
            and u_invalid >= self.invalid
            and u_dup >= self.duplicate
            and u_retract >= self.retraction
        ):
            return None
        fault = None
        if u_late < self.late:
            sent += DAY * (LATE_DAYS[0] + int(u_pick * (LATE_DAYS[1] - LATE_DAYS[0])))
            fault = "late"
        out: list[Sent] = [(sent, envelope, True, fault)]
        if u_invalid < self.invalid:
            reason, broken = _break(envelope, new_id(), rng)
            # Sent just before the good one: the sender's first, rejected attempt.
            out.append((sent - MINUTE * between(rng, 1, 50), broken, False, f"invalid:{reason}"))
        if u_dup < self.duplicate:
            delay = MINUTE * between(rng, *DUPLICATE_DELAY_MINUTES)
            out.append((sent + delay, copy_envelope(envelope), True, "duplicate"))
        if u_retract < self.retraction and envelope["type"] in RETRACTABLE:
            out.extend(_retract_and_correct(envelope, sent, rng, new_id))
        return out


def _retract_and_correct(
    envelope: Envelope, sent: int, rng: random.Random, new_id: Callable[[], str]
) -> list[Sent]:
    retracted_at = sent + DAY * between(rng, *RETRACTION_DELAY_DAYS)
    retraction = {
        **envelope,
        "event_id": new_id(),
        "type": "event_retracted",
        "schema_version": 1,
        "occurred_at": clock.day_of(retracted_at).isoformat(),
        "data": {"event_id": envelope["event_id"], "reason": "registration_error"},
    }
    corrected = copy_envelope(envelope)
    corrected["event_id"] = new_id()
    corrected["data"] = _correct(envelope["type"], corrected["data"], rng)
    resent_at = retracted_at + MINUTE * between(rng, 1, 30)
    return [
        (retracted_at, retraction, True, "retraction"),
        (resent_at, corrected, True, "correction"),
    ]


def _correct(kind: str, data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    if kind == "samtale":
        return {**data, "held": not data["held"]}
    if kind == "ordinary_hours":
        hours = data["hours"]
        fixed = max(0.5, round(hours * rng.uniform(0.5, 1.5) * 2) / 2)
        return {**data, "hours": fixed if fixed != hours else hours + 1.0}
    if kind == "tilbud_started":
        hours = data["hours_per_week"]
        step = rng.choice((2, 5))
        return {**data, "hours_per_week": hours - step if hours - step >= 1 else hours + step}
    return {**data, "partial": not data["partial"]}  # sygemelding


# Deliberate contract violations. Each returns a broken copy; all fail validation.
def _bad_cvr(env: Envelope, rng: random.Random) -> None:
    env["data"]["cvr"] = break_cvr(env["data"]["cvr"])


def _unknown_municipality(env: Envelope, rng: random.Random) -> None:
    # 411 is Christiansø, which is not a municipality; 999 is no code at all.
    env["municipality"] = rng.choice(("411", "999"))


def _bad_enum(env: Envelope, rng: random.Random) -> None:
    field = _ENUM_FIELDS.get(env["type"])
    if field is None:
        env["type"] = "tilbud_paused"  # an event type the contract does not know
    else:
        env["data"][field[0]] = field[1]


_ENUM_FIELDS: dict[str, tuple[str, Any]] = {
    "visitation": ("group", 4),
    "samtale": ("form", "fax"),
    "tilbud_started": ("kind", "sabbatical"),
    "afklaret": ("outcome", "lottery"),
}


def _bad_cpr_date(env: Envelope, rng: random.Random) -> None:
    env["cpr"] = "3102" + env["cpr"][4:]  # 31 February exists in no year


def _bad_date(env: Envelope, rng: random.Random) -> None:
    env["occurred_at"] = env["occurred_at"][:5] + "02-30"


def _missing_field(env: Envelope, rng: random.Random) -> None:
    # The first data field of every type is required.
    env["data"].pop(next(iter(env["data"])))


def _bad_schema_version(env: Envelope, rng: random.Random) -> None:
    env["schema_version"] = 7


_BREAKERS: tuple[tuple[str, Callable[[Envelope, random.Random], None]], ...] = (
    ("bad_cvr", _bad_cvr),
    ("unknown_municipality", _unknown_municipality),
    ("bad_enum", _bad_enum),
    ("bad_cpr_date", _bad_cpr_date),
    ("bad_date", _bad_date),
    ("missing_field", _missing_field),
    ("bad_schema_version", _bad_schema_version),
)


def _break(envelope: Envelope, event_id: str, rng: random.Random) -> tuple[str, Envelope]:
    broken = copy_envelope(envelope)
    broken["event_id"] = event_id
    usable = [b for b in _BREAKERS if b[0] != "bad_cvr" or envelope["data"].get("cvr")]
    reason, breaker = rng.choice(usable)
    breaker(broken, rng)
    return reason, broken
