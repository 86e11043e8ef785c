"""A crashed faust agent makes its worker unhealthy, then ends the process so it is restarted.

faust does not bring a crashed agent back to work: its supervisor restarts the actor on the
same stream, whose `take_events` buffer still belongs to the dead one, and the process goes
on answering /healthz with no partition processed (seen in the fault test, issue 7).

So on a crash /healthz answers 503 naming the agent and the reason, the crash is counted and
logged, and after a few seconds (for a probe or a look at /metrics) the process exits with
CRASH_EXIT_CODE, to be restarted by Kubernetes or `kommunepuls up`.

The exit is hard (`os._exit`), like a SIGKILL, on purpose: a graceful faust stop would
acknowledge the failed batch (`take_events` acks its events when the agent leaves the loop)
and commit its offsets, so the restarted worker would skip it. Without the commit the
restart reads the batch again; redelivery is harmless (facts are versioned, flushes are
upserts with their checkpoint), and tests/integration/test_faults.py proves a SIGKILL at any
point loses nothing. A batch that fails every time therefore crash-loops the worker, loudly,
instead of being dropped: records no retry can help are dead-lettered before this.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable
from typing import Any, NoReturn

from mode import OneForOneSupervisor
from mode.types import ServiceT
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict

from kommunepuls.logs import get_logger

log = get_logger("kommunepuls.watchdog")

CRASH_EXIT_CODE = 70  # EX_SOFTWARE (sysexits.h): an internal error, not a signal
# Long enough for a readiness probe or a test to see the 503, short enough that the
# partitions are soon processed again: Kubernetes restarts an exited container at once,
# a failing liveness probe only after a minute (deploy/k8s: 4 x 15 s).
EXIT_AFTER_S = 5.0
_REASON_CHARS = 300


class AgentCrash(BaseModel):
    """What /healthz reports once an agent crashed."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    agent: str
    reason: str


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_REASON_CHARS]


class AgentWatchdog:
    """Notices a crashed agent of one worker, reports it and ends the process."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        self.service = service
        self.exit_after_s = EXIT_AFTER_S  # read here, so a test runner may shorten it
        self.crash: AgentCrash | None = None
        self.crashes = Counter("kommunepuls_agent_crashes_total",
                               "Crashed agents (the worker exits after the first).",
                               ["service", "agent"], registry=registry)

    async def guard(self, agent: str, step: Awaitable[None]) -> None:
        """Run one step of an agent's loop; if it raises, never return: the step's batch
        stays unacknowledged while the process winds down (see the module docstring)."""
        try:
            await step
        except Exception as exc:
            await self.crashed(agent, exc)

    async def crashed(self, agent: str, exc: BaseException, *,
                      exit_after_s: float | None = None) -> NoReturn:
        wait = self.exit_after_s if exit_after_s is None else exit_after_s
        self.crashes.labels(self.service, agent).inc()
        log.error("agent crashed; the worker exits so that it is restarted", agent=agent,
                  exit_in_s=wait, exit_code=CRASH_EXIT_CODE, exc_info=exc)
        if self.crash is None:
            self.crash = AgentCrash(agent=agent, reason=describe(exc))
            asyncio.get_running_loop().call_later(wait, self.exit)
        try:
            await asyncio.Future()  # the exit comes from call_later
        finally:
            # Cancelled (SIGTERM, a rebalance): faust would acknowledge the failed batch.
            self.exit()

    def exit(self) -> NoReturn:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(CRASH_EXIT_CODE)

    def supervisor(self) -> type[OneForOneSupervisor]:
        """faust's agent supervisor (the `agent_supervisor` setting), for a crash outside
        `guard` (faust's stream code, or our code after a step succeeded): report it and
        exit at once instead of restarting the actor. At once, because the exception has
        left the agent's loop, so the batch is acknowledged and faust's periodic commit
        would soon commit it; the guard, not this, is what keeps a failed step's batch."""
        watchdog = self

        class ExitOnCrash(OneForOneSupervisor):
            async def restart_services(self, services: list[ServiceT]) -> None:
                for service in services:
                    reason = service.crash_reason
                    # faust also "crashes" an actor it cancelled for a rebalance, and
                    # restarting that one is right.
                    if reason is not None and not isinstance(reason, asyncio.CancelledError):
                        await watchdog.crashed(_agent_name(service), reason,
                                               exit_after_s=0.0)
                await super().restart_services(services)

        return ExitOnCrash


def _agent_name(service: Any) -> str:
    agent = getattr(service, "agent", None)  # a faust ActorRef
    return str(getattr(agent, "name", None) or type(service).__name__)
