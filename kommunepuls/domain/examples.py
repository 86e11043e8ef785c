"""One valid example envelope per event type, for OpenAPI examples, docs and tests.

The CPR numbers are made-up test values (01-01-1990 + serial); never use real ones here.
"""

from __future__ import annotations

from typing import Any

EXAMPLE_CPR = "0101901234"
EXAMPLE_CVR = "12345674"


def _envelope(n: int, event_type: str, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"0d6c1f2e-4b6a-4c1e-9f3a-{n:012d}",
        "type": event_type,
        "schema_version": 1,
        "municipality": "851",
        "cpr": EXAMPLE_CPR,
        "occurred_at": occurred_at,
        "source": "example-fagsystem",
        "case_ref": f"SAG-{n}",
        "data": data,
    }


EXAMPLES: dict[str, dict[str, Any]] = {
    "visitation": _envelope(
        1,
        "visitation",
        "2018-11-01",
        {
            "programme": "flere_skal_med",
            "target_group": "kontanthjaelp_aktivitetsparat",
            "group": 1,
        },
    ),
    "visitation_ended": _envelope(
        2, "visitation_ended", "2019-09-30", {"programme": "flere_skal_med", "reason": None}
    ),
    "caseworker_assigned": _envelope(
        3, "caseworker_assigned", "2018-11-01", {"caseworker_id": "JC851-0042"}
    ),
    "samtale": {
        **_envelope(
            4, "samtale", "2018-11-15", {"form": "in_person", "held": True, "kind": "ordinary"}
        ),
        "schema_version": 2,
    },
    "tilbud_started": _envelope(
        5,
        "tilbud_started",
        "2019-03-01",
        {
            "tilbud_id": "T-17",
            "kind": "virksomhedspraktik",
            "hours_per_week": 15,
            "cvr": EXAMPLE_CVR,
        },
    ),
    "tilbud_ended": _envelope(6, "tilbud_ended", "2019-04-01", {"tilbud_id": "T-17"}),
    "ordinary_hours": _envelope(
        7, "ordinary_hours", "2019-04-10", {"month": "2019-03", "hours": 12, "cvr": EXAMPLE_CVR}
    ),
    "cvr_registered": _envelope(8, "cvr_registered", "2019-05-01", {"cvr": EXAMPLE_CVR}),
    "cvr_ceased": _envelope(9, "cvr_ceased", "2020-05-01", {"cvr": EXAMPLE_CVR}),
    "sygemelding": _envelope(
        10, "sygemelding", "2019-02-04", {"first_sick_day": "2019-02-04", "partial": False}
    ),
    "raskmelding": _envelope(
        11, "raskmelding", "2019-02-20", {"fit_from": "2019-02-21", "partial": False}
    ),
    "exemption_started": _envelope(12, "exemption_started", "2019-06-20", {"reason": "barsel"}),
    "exemption_ended": _envelope(13, "exemption_ended", "2019-12-31", {"reason": "barsel"}),
    "afklaret": _envelope(14, "afklaret", "2020-01-01", {"outcome": "job"}),
    "relocated": _envelope(15, "relocated", "2019-06-30", {"to_municipality": "751"}),
    "event_retracted": _envelope(
        16,
        "event_retracted",
        "2019-04-02",
        {"event_id": "0d6c1f2e-4b6a-4c1e-9f3a-000000000005", "reason": "registration_error"},
    ),
    "microloan_granted": _envelope(
        18, "microloan_granted", "2018-03-01", {"loan_id": "ML-3", "amount_dkk": 40000}
    ),
    "microloan_ended": _envelope(19, "microloan_ended", "2018-08-31", {"loan_id": "ML-3"}),
}

# Older schema versions still accepted on ingest, keyed by (type, schema_version).
LEGACY_EXAMPLES: dict[tuple[str, int], dict[str, Any]] = {
    ("samtale", 1): _envelope(
        17, "samtale", "2018-11-15", {"form": "personal", "held": True, "kind": "ordinary"}
    ),
}
