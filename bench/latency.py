"""End-to-end latency (issue 5): from ingest's accept to the indicator read models reflecting
the event, as the gateway reports it, at a steady rate on the whole embedded platform.

    .venv/bin/python -m bench.latency [--rate 1000] [--seconds 60] [--citizens 20000] [--write]

Load: simulator traffic (no faults, generated before the clock starts) posted to ingest's
`POST /v1/events` in one request every 50 ms, open loop: each request leaves at its
scheduled time whatever came back, so a slow platform cannot lower the offered rate
(no coordinated omission). The platform's "today" is the newest event's date.

Observation: `GET /v1/status` on the gateway every 25 ms. One answer gives three stages at
once — the relay's checkpoint (published on case-events and acknowledged by the broker; the
floor), the metrics partitions' checkpoints (read models written, turned into a "through"
position by the gateway's own `reflected_through` without its cache), and
`read_models.through` (what the gateway tells a user). An event's latency in a stage runs
from its POST's answer (the 200 carrying its position) to the answer of the first poll that
shows the stage through that position; the poll's round trip is the resolution. A consumer
of cohort-facts adds the stage between (when cohorts produced the record carrying the
event's partition through its position), and each process's CPU time is taken before and
after. The figures are computed in bench/latency_report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from bench.latency_report import (
    POLL_EVERY_S,
    POST_EVERY_S,
    SEED,
    Answer,
    LatencyReport,
    Poll,
    Run,
    report,
)
from bench.platform import cpu_seconds, servers, services
from bench.sections import write_section
from kommunepuls import facts
from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.kafka import consumer_options, topic_name
from kommunepuls.reference import municipalities
from kommunepuls.simulator.generator import SimConfig, generate
from services.ingest.relay import CHECKPOINT as RELAY_CHECKPOINT

TITLE = "End-to-end latency (issue 5)"
# Sent, and awaited in the gateway, before the clock starts: the figures are the steady
# state's, not the first fetches' and group joins' (a worker is healthy once it has an
# assignment, which can still move while the group settles).
WARM_UP_EVENTS = 20
WARM_UP_BUDGET_S = 120.0


def traffic(rate: float, seconds: float, citizens: int
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The envelopes to send (warm-up, load), generated up front so the generator's CPU
    never delays a POST."""
    wanted = WARM_UP_EVENTS + round(rate * seconds)
    emissions = generate(SimConfig(seed=SEED, citizens=citizens, late_share=0, duplicate_share=0,
                                   retraction_share=0, invalid_share=0))
    envelopes = [e.envelope for _, e in zip(range(wanted), emissions, strict=False)]
    if len(envelopes) < wanted:
        raise ValueError(f"the simulator gave {len(envelopes)} events, wanted {wanted}: "
                         "more --citizens")
    return envelopes[:WARM_UP_EVENTS], envelopes[WARM_UP_EVENTS:]


async def _send(client: httpx.AsyncClient, envelopes: list[dict[str, Any]], token: str,
                rate: float, run: Run) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    async def post(due: float, batch: list[dict[str, Any]]) -> None:
        try:
            response = await client.post("/v1/events", json=batch, headers=headers)
        except httpx.HTTPError:
            run.failed_posts += 1
            return
        answered = time.perf_counter()
        run.post_latencies.append(answered - due)
        if response.status_code != 200:
            run.failed_posts += 1
            return
        stored = [(r["position"], batch[r["index"]]["cpr"]) for r in response.json()["results"]
                  if r["status"] == "accepted"]
        run.not_accepted += len(batch) - len(stored)
        run.answers.append(Answer(answered, tuple(p for p, _ in stored),
                                  tuple(c for _, c in stored)))

    # perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds.
    started = run.load_started = time.perf_counter() + 0.05
    tasks = []
    ticks = round(len(envelopes) / (rate * POST_EVERY_S) + 0.499)
    for tick in range(ticks):
        due = started + tick * POST_EVERY_S
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        # Integer boundaries from the clock, so a fractional per-POST count never drifts.
        batch = envelopes[round(rate * tick * POST_EVERY_S):
                          round(rate * (tick + 1) * POST_EVERY_S)]
        if batch:
            tasks.append(asyncio.create_task(post(due, batch)))
    await asyncio.gather(*tasks)
    run.load_ended = time.perf_counter()


async def _watch(client: httpx.AsyncClient, token: str, run: Run, stop: asyncio.Event,
                 caught_up: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    tick = 0
    while not stop.is_set():
        sent = time.perf_counter()
        try:
            response = await client.get("/v1/status", headers=headers)
        except httpx.HTTPError:
            response = None
        at = time.perf_counter()
        if response is None or response.status_code != 200:
            run.failed_polls += 1
        else:
            body = response.json()
            checkpoints: dict[str, int] = body["checkpoints"]
            read_models = body["read_models"] or {"through": -1, "lag_events": -1,
                                                  "lag_seconds": -1.0}
            run.polls.append(Poll(
                at, at - sent, body["store"]["position"], checkpoints.get(RELAY_CHECKPOINT, 0),
                {int(name.removeprefix("metrics:p")): position
                 for name, position in checkpoints.items() if name.startswith("metrics:p")},
                read_models["through"], read_models["lag_events"], read_models["lag_seconds"]))
            if run.top is not None and run.polls[-1].gateway >= run.top:
                caught_up.set()
        # On a fixed grid; a slow answer skips the ticks it overran instead of bunching up.
        tick = max(tick + 1, int((time.perf_counter() - started) / POLL_EVERY_S) + 1)
        await asyncio.sleep(max(0.0, started + tick * POLL_EVERY_S - time.perf_counter()))


def _worker_histograms(settings: Settings) -> list[tuple[str, int, str]]:
    return [("cohorts", settings.cohorts_web_port, "kommunepuls_cohorts_batch_duration_seconds"),
            ("metrics", settings.metrics_web_port,
             "kommunepuls_metrics_read_model_write_duration_seconds")]


def _histogram_totals(text: str, name: str) -> tuple[int, float]:
    for family in text_string_to_metric_families(text):
        if family.name == name:
            values = {s.name: s.value for s in family.samples}
            return int(values[f"{name}_count"]), values[f"{name}_sum"]
    return 0, 0.0


async def _tap_facts(settings: Settings, run: Run, stop: asyncio.Event) -> None:
    """Record when cohorts produced each cohort-facts record and the position it carries
    the partition through: splits the pipeline into cohorts and metrics."""
    # Record timestamps are the producer's wall clock; this maps them onto perf_counter.
    offset = time.time() - time.perf_counter()
    consumer = AIOKafkaConsumer(topic_name(settings, settings.topic_cohort_facts),
                                **consumer_options(settings), fetch_max_wait_ms=20)
    await consumer.start()
    try:
        while not stop.is_set():
            for tp, records in (await consumer.getmany(timeout_ms=50)).items():
                for record in records:
                    through = dict(record.headers or ()).get(facts.HEADER_THROUGH)
                    if through:
                        run.facts.append((record.timestamp / 1000 - offset, tp.partition,
                                          int(through)))
    finally:
        await consumer.stop()


async def _warm_up(client: httpx.AsyncClient, envelopes: list[dict[str, Any]],
                   token: str) -> int:
    """Post the warm-up events; return the highest position stored."""
    response = await client.post("/v1/events", json=envelopes,
                                 headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    body = response.json()
    if body["accepted"] != len(envelopes):
        raise RuntimeError(f"warm-up events not accepted: {body}")
    return max(r["position"] for r in body["results"])


async def observe(settings: Settings, warm_up: list[dict[str, Any]],
                  envelopes: list[dict[str, Any]], rate: float, drain_s: float) -> Run:
    """Warm up; then send at `rate`, poll the gateway throughout and until it reports every
    accepted event (or `drain_s` passed after the load)."""
    secret = settings.secret("jwt_secret")
    sender = issue_token(secret, subject="bench-latency", role=Role.fagsystem,
                         municipalities=sorted(municipalities()))
    reader = issue_token(secret, subject="bench-latency-reader", role=Role.national)
    run, stop, caught_up = Run(), asyncio.Event(), asyncio.Event()
    async with (httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest_port}",
                                  timeout=30) as ingest,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.gateway_port}",
                                  timeout=30) as gateway):
        watcher = asyncio.create_task(_watch(gateway, reader, run, stop, caught_up))
        tap = asyncio.create_task(_tap_facts(settings, run, stop))
        run.top = await _warm_up(ingest, warm_up, sender)
        try:
            await asyncio.wait_for(caught_up.wait(), WARM_UP_BUDGET_S)
        except TimeoutError:
            stop.set()
            raise RuntimeError(f"the gateway did not report the {len(warm_up)} warm-up events "
                               f"within {WARM_UP_BUDGET_S:.0f} s") from None
        run.top = None
        caught_up.clear()
        await _send(ingest, envelopes, sender, rate, run)
        run.top = max((max(a.positions) for a in run.answers if a.positions), default=0)
        try:
            await asyncio.wait_for(caught_up.wait(), drain_s)
        except TimeoutError:
            pass  # reported as events never visible
        stop.set()
        await asyncio.gather(watcher, tap)
        for name, port, histogram in _worker_histograms(settings):
            response = await gateway.get(f"http://127.0.0.1:{port}/metrics")
            if response.status_code == 200:
                run.batches[name] = _histogram_totals(response.text, histogram)
    return run


def measure(settings: Settings, logs: Path, *, rate: float, seconds: float, citizens: int,
            drain_s: float = 60, server_pids: dict[str, int] | None = None) -> LatencyReport:
    """The benchmark on the PostgreSQL and broker `settings` point at (its own schema and
    topics there are created; the services are started and stopped here)."""
    warm_up, envelopes = traffic(rate, seconds, citizens)
    # The platform's day follows the traffic, as the demo's simulated clock does.
    today = max(date.fromisoformat(e["occurred_at"]) for e in warm_up + envelopes)
    with services(settings.model_copy(update={"today": today}), logs) as running:
        pids = {**running.pids, **(server_pids or {})}
        before, cpu_before = os.getloadavg()[0], cpu_seconds(pids)
        run = asyncio.run(observe(running.settings, warm_up, envelopes, rate, drain_s))
        after, cpu_after = os.getloadavg()[0], cpu_seconds(pids)
    cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    return report(running.settings, run, rate=rate, seconds=seconds, citizens=citizens,
                  offered=len(envelopes), load_average=(before, after), cpu=cpu)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1000, help="events per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--citizens", type=int, default=20_000)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="kommunepuls-bench-latency-"))
    try:
        with servers(root) as running:
            result = measure(running.settings, root / "logs", rate=args.rate,
                             seconds=args.seconds, citizens=args.citizens,
                             server_pids=running.pids)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = result.markdown()
    if args.write:
        write_section(TITLE, text)
    print(text)
    raise SystemExit(1 if result.errors else 0)


if __name__ == "__main__":
    main()
