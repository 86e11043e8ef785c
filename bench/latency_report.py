"""The end-to-end latency benchmark's figures (bench/latency.py): what the client saw during
a run, turned into per-event latencies per stage, and the markdown section body.

Pure: no I/O, so the arithmetic is tested by hand (tests/integration/test_latency_smoke.py).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate, pairwise

from bench.sections import machine
from kommunepuls.config import Settings
from kommunepuls.domain.identifiers import citizen_id
from kommunepuls.segments import partition_for
from services.cohorts.agents import BATCH_WITHIN_S as COHORTS_WITHIN_S
from services.gateway.freshness import SCAN_EVENTS, reflected_through
from services.gateway.queries import StoreFreshness

# The run's parameters, which the report states.
POST_EVERY_S = 0.05
POLL_EVERY_S = 0.025
TARGET_P99_S = 1.0
SEED = 9


@dataclass(frozen=True, slots=True)
class Quantiles:
    count: int
    p50: float  # seconds
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Quantiles:
        ordered = sorted(values)
        if not ordered:
            return cls(0, 0.0, 0.0, 0.0, 0.0)

        def at(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return cls(len(ordered), at(0.5), at(0.9), at(0.99), ordered[-1])

    def row(self, name: str, floor: Quantiles | None) -> str:
        ratio = f"{self.p99 / floor.p99:.1f}" if floor and floor.p99 > 0 else ""
        return (f"| {name} | {self.count:,} | {self.p50 * 1000:,.0f} | {self.p90 * 1000:,.0f} "
                f"| {self.p99 * 1000:,.0f} | {self.max * 1000:,.0f} | {ratio} |")


@dataclass(frozen=True, slots=True)
class Answer:
    """One POST's 200: when it came back and what it stored."""

    at: float
    positions: tuple[int, ...]
    cprs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Poll:
    """One `GET /v1/status` answer."""

    at: float
    round_trip: float
    head: int
    relay: int
    metrics: dict[int, int]  # partition -> checkpoint
    gateway: int  # read_models.through; -1 when the gateway had no answer yet
    lag_events: int
    lag_seconds: float


@dataclass
class Run:
    """What the client saw; everything else is computed from it afterwards."""

    answers: list[Answer] = field(default_factory=list)
    polls: list[Poll] = field(default_factory=list)
    post_latencies: list[float] = field(default_factory=list)
    failed_posts: int = 0
    not_accepted: int = 0
    failed_polls: int = 0
    facts: list[tuple[float, int, int]] = field(default_factory=list)  # (at, partition, through)
    load_started: float = 0.0
    load_ended: float = 0.0
    # worker -> (batches, seconds spent in them), from its own Prometheus histogram
    batches: dict[str, tuple[int, float]] = field(default_factory=dict)
    top: int | None = None  # the highest accepted position, once the load is over


@dataclass(frozen=True, slots=True)
class LatencyReport:
    rate: float
    seconds: float
    citizens: int
    offered: int
    accepted: int
    errors: int
    failed_posts: int
    not_accepted: int
    failed_polls: int
    never_visible: int  # accepted events the gateway never reported within the drain
    relay: Quantiles
    cohorts: Quantiles
    read_models: Quantiles
    gateway: Quantiles
    poll: Quantiles
    post: Quantiles
    lag_events_at_end: int
    lag_seconds_at_end: float
    exact_lag_events_at_end: int
    caught_up_s: float | None
    batches: dict[str, tuple[int, float]]  # worker -> (batches, seconds in them)
    cohorts_bursts: tuple[int, float]  # bursts of cohort-facts records, mean interval
    load_average: tuple[float, float]  # 1-minute load average before and after
    load_s: float  # from the first POST's schedule to the last POST's answer
    cpu: dict[str, float]  # service -> CPU seconds used while observed
    observed_s: float  # first to last status poll (warm-up, load and drain)

    @property
    def achieved_rate(self) -> float:
        """Accepted events per second, until the last POST was answered."""
        return self.accepted / self.load_s if self.load_s else 0.0

    def markdown(self) -> str:
        caught = (f"caught up {self.caught_up_s:.1f} s later" if self.caught_up_s is not None
                  else "not caught up within the drain")
        met = "met" if self.gateway.p99 < TARGET_P99_S and not self.errors else "**not met**"
        return "\n".join([
            f"{machine()}; command `.venv/bin/python -m bench.latency --rate {self.rate:g} "
            f"--seconds {self.seconds:g} --citizens {self.citizens}`",
            "",
            f"Simulator traffic (seed {SEED}, {self.citizens:,} citizens, no faults), "
            f"{self.rate:,.0f} events/s offered for {self.seconds:g} s in one POST every "
            f"{POST_EVERY_S * 1000:.0f} ms (open loop), into ingest over HTTP; the whole "
            "platform embedded (PostgreSQL, Tansu in memory, ingest + relay, cohorts, metrics, "
            f"gateway as child processes). `GET /v1/status` polled every "
            f"{POLL_EVERY_S * 1000:.0f} ms. Latency of an event = from its POST's 200 to the "
            "first status answer showing the stage through its position. Load average "
            f"(1 min) {self.load_average[0]:.2f} before, {self.load_average[1]:.2f} after.",
            "",
            "| from ingest's accept to | events | p50 ms | p90 ms | p99 ms | max ms "
            "| p99 vs floor |",
            "|---|---:|---:|---:|---:|---:|---:|",
            self.relay.row("published on case-events (relay checkpoint; the floor)", None),
            self.cohorts.row("cohorts' facts produced on cohort-facts (record timestamp)",
                             self.relay),
            self.read_models.row("read models written (metrics checkpoints, uncached)",
                                 self.relay),
            self.gateway.row("**reported by the gateway** (`read_models.through`)", self.relay),
            self.poll.row("peer: one `/v1/status` round trip (the resolution)", self.relay),
            self.post.row("peer: ingest POST, from its scheduled time", self.relay),
            "",
            f"Accepted {self.accepted:,} of {self.offered:,} events "
            f"({self.achieved_rate:,.0f}/s over {self.load_s:.1f} s); errors {self.errors} "
            f"(failed POSTs {self.failed_posts}, events not accepted {self.not_accepted}, "
            f"failed status polls {self.failed_polls}); accepted but never reported: "
            f"{self.never_visible}.",
            f"When the load stopped the gateway reported a lag of {self.lag_events_at_end:,} "
            f"events / {self.lag_seconds_at_end:.2f} s (uncached: "
            f"{self.exact_lag_events_at_end:,} events); {caught}.",
            self._workers(),
            f"CPU used by each service over the observed {self.observed_s:.0f} s (warm-up, "
            "load, drain): " + ", ".join(
                f"{name} {seconds:.1f} s ({seconds / max(self.observed_s, 1e-9):.0%} of a core, "
                f"{seconds / max(1, self.accepted) * 1e6:,.0f} µs per event)"
                for name, seconds in self.cpu.items()) + ".",
            f"Target p99 < {TARGET_P99_S:g} s as reported by the gateway: {met} "
            f"(p99 {self.gateway.p99:.2f} s).",
        ])

    def _workers(self) -> str:
        bursts, every = self.cohorts_bursts
        line = (f"cohorts produced facts in {bursts:,} bursts, one every {every * 1000:,.0f} ms "
                f"(its take window is {COHORTS_WITHIN_S * 1000:.0f} ms; the rest is its work)")
        scraped = "; ".join(
            f"{name} {count:,} batches, {total / count * 1000 if count else 0:,.0f} ms of "
            "work each" for name, (count, total) in sorted(self.batches.items()))
        return (f"Workers: {line}; from their own histograms: "
                f"{scraped or 'unavailable (their /metrics did not answer 200)'}.")


def event_latencies(accepted: list[tuple[int, float]], polls: list[Poll],
               through: Callable[[Poll], int]) -> tuple[list[float], int]:
    """Per event: first poll through its position minus its accept; and how many never were."""
    reached = list(accumulate((through(p) for p in polls), max))
    latencies, missing = [], 0
    for position, accepted_at in accepted:
        i = bisect_left(reached, position)
        if i == len(reached):
            missing += 1
        else:
            # A poll may answer before the POST does: then the event was visible at once.
            latencies.append(max(0.0, polls[i].at - accepted_at))
    return latencies, missing


def cohorts_latencies(accepted: list[tuple[int, float, str]],
                       facts_seen: list[tuple[float, int, int]], partitions: int) -> list[float]:
    """Per event: the first cohort-facts record of its partition through its position."""
    by_partition: dict[int, tuple[list[float], list[int]]] = {}
    for at, partition, through in sorted(facts_seen):
        times, reached = by_partition.setdefault(partition, ([], []))
        times.append(at)
        reached.append(max(through, reached[-1] if reached else 0))
    latencies = []
    for position, accepted_at, cid in accepted:
        times, reached = by_partition.get(partition_for(cid, partitions), ([], []))
        i = bisect_left(reached, position)
        if i < len(reached):
            latencies.append(max(0.0, times[i] - accepted_at))
    return latencies


def bursts(facts_seen: list[tuple[float, int, int]]) -> tuple[int, float]:
    """Cohorts sends its facts right after each batch, then waits for the next: records
    further apart than half its take window belong to different batches."""
    times = sorted(at for at, _, _ in facts_seen)
    starts = [b for a, b in pairwise(times) if b - a > COHORTS_WITHIN_S / 2]
    starts = times[:1] + starts
    every = (starts[-1] - starts[0]) / (len(starts) - 1) if len(starts) > 1 else 0.0
    return len(starts), every


def uncached_through(settings: Settings, accepted: list[tuple[int, str]]
                      ) -> Callable[[Poll], int]:
    """The gateway's own `reflected_through` on a poll's checkpoints, with the events this run
    stored as the pending list: what `read_models.through` says when its cache is fresh."""
    recorded = datetime.now(UTC)  # only the lag in seconds uses it, which is not wanted here
    pending = [(position, cid, recorded) for position, cid in accepted]
    positions = [position for position, _ in accepted]

    def through(poll: Poll) -> int:
        checkpoints = {p: poll.metrics.get(p, 0) for p in range(settings.kafka_partitions)}
        start = bisect_right(positions, min(checkpoints.values()))
        store = StoreFreshness(poll.head, checkpoints, pending[start:start + SCAN_EVENTS])
        return reflected_through(store, settings.kafka_partitions, recorded).through

    return through


def report(settings: Settings, run: Run, *, rate: float, seconds: float, citizens: int,
           offered: int, load_average: tuple[float, float],
           cpu: dict[str, float]) -> LatencyReport:
    key = settings.secret("pseudonym_key")
    accepted = sorted((position, answer.at, citizen_id(cpr, key))
                      for answer in run.answers
                      for position, cpr in zip(answer.positions, answer.cprs, strict=True))
    timed = [(position, at) for position, at, _ in accepted]
    relay, _ = event_latencies(timed, run.polls, lambda p: p.relay)
    cohorts = cohorts_latencies(accepted, run.facts, settings.kafka_partitions)
    exact = uncached_through(settings, [(position, cid) for position, _, cid in accepted])
    written, _ = event_latencies(timed, run.polls, exact)
    shown, never = event_latencies(timed, run.polls, lambda p: p.gateway)
    after = [p for p in run.polls if p.at >= run.load_ended]
    end = after[0] if after else (run.polls[-1] if run.polls else None)
    top = accepted[-1][0] if accepted else 0
    caught = next((p.at - run.load_ended for p in after if p.gateway >= top), None)
    errors = run.failed_posts + run.not_accepted + run.failed_polls + never
    return LatencyReport(
        rate=rate, seconds=seconds, citizens=citizens, offered=offered, accepted=len(accepted),
        errors=errors, failed_posts=run.failed_posts, not_accepted=run.not_accepted,
        failed_polls=run.failed_polls, never_visible=never,
        relay=Quantiles.of(relay), cohorts=Quantiles.of(cohorts), read_models=Quantiles.of(written),
        gateway=Quantiles.of(shown), poll=Quantiles.of([p.round_trip for p in run.polls]),
        post=Quantiles.of(run.post_latencies),
        lag_events_at_end=end.lag_events if end else -1,
        lag_seconds_at_end=end.lag_seconds if end else -1.0,
        exact_lag_events_at_end=end.head - exact(end) if end else -1,
        caught_up_s=caught, batches=dict(run.batches),
        cohorts_bursts=bursts([f for f in run.facts if f[0] >= run.load_started]),
        load_average=load_average, load_s=run.load_ended - run.load_started, cpu=cpu,
        observed_s=run.polls[-1].at - run.polls[0].at if run.polls else 0.0)
