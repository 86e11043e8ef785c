"""The ingest benchmark's figures: one phase's measurement, and the report of a run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SUMMARY_ROWS = ("sum of the steps", "whole request, ASGI in-process (measured)",
                "append: PostgreSQL (measured, other processes)")


@dataclass(frozen=True, slots=True)
class Phase:
    """One measured phase: events stored, wall seconds, request latencies, and the CPU
    seconds each process group spent meanwhile (ingest, PostgreSQL, client; /proc)."""

    events: int
    seconds: float
    latencies: tuple[float, ...] = ()
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def percentiles(self) -> tuple[float, float] | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1,
                                                         int(len(ordered) * 0.95))]

    def cpu_per_event(self, group: str) -> float | None:
        seconds = self.cpu.get(group)
        return None if seconds is None else seconds / self.events * 1e6


@dataclass(slots=True)
class Report:
    events: int
    batch: int
    clients: int
    rounds: int = 1
    phases: dict[str, Phase] = field(default_factory=dict)  # the best round of each phase
    rates: dict[str, list[float]] = field(default_factory=dict)  # every round's events/s
    breakdown: dict[str, float] = field(default_factory=dict)  # step -> µs per event
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after

    def add(self, name: str, phase: Phase) -> None:
        # Best of the rounds: on a shared machine other load only ever slows a phase down.
        self.rates.setdefault(name, []).append(phase.rate)
        if name not in self.phases or phase.rate > self.phases[name].rate:
            self.phases[name] = phase

    @property
    def ceiling(self) -> float:
        return self.phases["copy"].rate

    def best_http(self) -> tuple[str, Phase]:
        http = {k: v for k, v in self.phases.items() if k.startswith("http")}
        name = max(http, key=lambda k: http[k].rate)
        return name, http[name]

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "batch": self.batch, "clients": self.clients,
                "rounds": self.rounds, "load": self.load, "ceiling": self.ceiling,
                "breakdown": self.breakdown,
                "phases": {name: {"rate": p.rate, "rates": self.rates[name],
                                  "seconds": p.seconds, "cpu": p.cpu,
                                  "p50_p95": p.percentiles()}
                           for name, p in self.phases.items()}}

    def lines(self) -> Iterator[str]:
        yield (f"{self.events:,} events per phase, batches of {self.batch:,}, "
               f"{self.clients} concurrent clients, best of {self.rounds} round(s); load "
               f"average {self.load[0]:.2f} before, {self.load[1]:.2f} after")
        yield ""
        yield ("| phase | events/s (best) | of COPY ceiling | all rounds | request p50 / p95 "
               "| CPU µs/event: ingest / PostgreSQL / client | cores busy |")
        yield "|---|---:|---:|---:|---:|---:|---:|"
        for name, phase in self.phases.items():
            lat = phase.percentiles()
            lat_text = f"{lat[0] * 1000:.0f} / {lat[1] * 1000:.0f} ms" if lat else ""
            cpu = [phase.cpu_per_event(g) for g in ("ingest", "postgres", "client")]
            cpu_text = " / ".join("–" if c is None else f"{c:.0f}" for c in cpu)
            busy = sum(phase.cpu.values()) / phase.seconds
            every = ", ".join(f"{r / 1000:.1f}k" for r in self.rates[name])
            yield (f"| {name} | {phase.rate:,.0f} | {phase.rate / self.ceiling:.0%} | "
                   f"{every} | {lat_text} | {cpu_text} | {busy:.2f} |")
        if self.breakdown:
            yield ""
            yield "| step of POST /v1/events (CPU, in-process) | µs/event | share |"
            yield "|---|---:|---:|"
            total = self.breakdown["sum of the steps"]
            for name, micros in self.breakdown.items():
                share = f"{micros / total:.0%}" if name not in SUMMARY_ROWS else ""
                yield f"| {name} | {micros:.1f} | {share} |"
