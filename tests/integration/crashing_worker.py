"""`kommunepuls serve metrics` with a fault injected, for test_worker_health.py:

- `step`: a batch holding a record whose `through` header is CRASH_THROUGH raises inside
  the agent's guarded step (`MetricsWorker.process`);
- `after-step`: every batch raises after its step succeeded (in `observe_lag`), outside
  the guard, where only faust's supervisor sees it.

Run as `python -m tests.integration.crashing_worker step|after-step` with the settings in
the environment. The fault is injected here, so production code has no hook for it.
"""

from __future__ import annotations

import sys
from typing import Any

import services.metrics.agents
from kommunepuls import facts, watchdog
from kommunepuls.cli import Service, serve
from services.metrics.agents import MetricsWorker

CRASH_THROUGH = 42
FAULT = "injected by the test"
# Longer than faust's commit interval (2.8 s), so that had the failed batch been
# acknowledged, a periodic commit would have committed it before the exit.
EXIT_AFTER_S = 4.0


class InjectedFault(RuntimeError):
    """An error no part of the worker expects (not transient, not a bad record)."""


def crash_in_the_step() -> None:
    process = MetricsWorker.process

    async def crash_on_the_marked_record(self: MetricsWorker,
                                         records: list[tuple[int, bytes, dict[str, bytes]]],
                                         *rest: Any) -> None:
        marked = str(CRASH_THROUGH).encode()
        if any(headers.get(facts.HEADER_THROUGH) == marked for _, _, headers in records):
            raise InjectedFault(FAULT)
        await process(self, records, *rest)

    MetricsWorker.process = crash_on_the_marked_record  # type: ignore[method-assign]


def crash_after_the_step() -> None:
    def observe_lag(*_: Any) -> None:
        raise InjectedFault(FAULT)

    services.metrics.agents.observe_lag = observe_lag  # type: ignore[assignment]


def main(where: str) -> None:
    watchdog.EXIT_AFTER_S = EXIT_AFTER_S
    {"step": crash_in_the_step, "after-step": crash_after_the_step}[where]()
    serve(Service.metrics)


if __name__ == "__main__":
    main(sys.argv[1])
