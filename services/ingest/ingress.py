"""The Kafka ingress: fagsystems publish envelopes to `fagsystem-events` instead of POSTing.

One inbound record holds one envelope (JSON) or a batch (NDJSON, or a JSON array), with the
sender's access token in an `authorization` header. Each record is answered on
`fagsystem-receipts` with the same per-event results as POST /v1/events, because both go
through `ingest_items`. Two differences from HTTP, both about the CPR number: on Kafka the
envelope carries `cpr_sealed` (sealed to the platform's key, see kommunepuls/sealing.py), and
a plaintext `cpr` is refused, since a topic is copied to brokers, mirrors and backups.

At-least-once: offsets are committed only after the record's events are stored and its
receipt acknowledged by the broker. A crash in between re-reads the record; the store
answers its events as duplicates (event_id), so each event is stored exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge

from kommunepuls.auth import Forbidden, InvalidToken, Principal
from kommunepuls.config import Settings
from kommunepuls.kafka import consumer_options, ensure_topics, make_producer, topic_name
from kommunepuls.logs import get_logger
from kommunepuls.sealing import Opener
from services.ingest.ingress_records import (
    MAX_HEADER_CHARS,
    Sealed,
    auth_problem,
    authenticate,
    name_sealed_field,
    problem,
    rejected,
    split_record,
    text_header,
    type_label,
)
from services.ingest.intake import IntakeMetrics, RawItem, ingest_items

log = get_logger("kommunepuls.ingress")
GROUP = "kommunepuls-ingest"
# Failures of the database or the broker: retried from the committed offsets. Anything
# else a record raises is a bug that retrying would only repeat.
_TRANSIENT = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, KafkaError,
              TimeoutError)


class IngressMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter("kommunepuls_ingress_records_total",
                               "Records read from the ingress topic.", registry=registry)
        self.rejects = Counter("kommunepuls_ingress_rejects_total",
                               "Events rejected on the ingress, by reason (problem type).",
                               ["reason"], registry=registry)
        self.lag = Gauge("kommunepuls_ingress_consumer_lag",
                         "Records on the ingress topic's assigned partitions not yet read.",
                         registry=registry)
        self.errors = Counter("kommunepuls_ingress_errors_total",
                              "Failed batches (database or broker away); re-read and retried.",
                              registry=registry)


@dataclass(slots=True)
class Checked:
    """A record after `Ingress.check`: its items, its sender (None when refused), why the
    whole record is refused, or per item what `Sealed.open_items` made of it."""

    record: ConsumerRecord
    headers: list[tuple[str, bytes]]
    items: list[RawItem]
    principal: Principal | None
    refusal: dict[str, Any] | None
    opened: list[RawItem | dict[str, Any]] = field(default_factory=list)


class Ingress:
    """Consumes the ingress topic in a consumer group (one member per ingest replica)."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, registry: CollectorRegistry,
                 *, opener: Opener, intake_metrics: IntakeMetrics,
                 max_records: int = 20,
                 consumer_overrides: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.pool = pool
        self.topic = topic_name(settings, settings.topic_ingress)
        self.receipts_topic = topic_name(settings, settings.topic_receipts)
        self.group = f"{settings.topic_prefix}{GROUP}"
        self.sealed = Sealed(opener)
        self.jwt_secret = settings.secret("jwt_secret")
        self.pseudonym_key = settings.secret("pseudonym_key")
        self.intake_metrics = intake_metrics
        self.metrics = IngressMetrics(registry)
        self.max_records = max_records
        self.consumer_overrides = dict(consumer_overrides or {})

    async def check(self, record: ConsumerRecord) -> Checked:
        """Everything before the store: split, authenticate, open the sealed CPRs."""
        headers = list(record.headers or ())
        items = split_record(record.value)
        try:
            principal = authenticate(headers, self.jwt_secret)
        except (InvalidToken, Forbidden) as exc:
            return Checked(record, headers, items, None, auth_problem(exc))
        if len(record.value or b"") > self.settings.ingest_max_bytes:
            return Checked(record, headers, items, principal, problem(
                "payload-too-large", "Payload too large", 413,
                f"the record is larger than {self.settings.ingest_max_bytes} bytes"))
        if len(items) > self.settings.ingest_max_events:
            return Checked(record, headers, items, principal, problem(
                "payload-too-large", "Payload too large", 413,
                f"{len(items)} events; at most {self.settings.ingest_max_events} per record"))
        opened = await asyncio.to_thread(self.sealed.open_items, items)
        return Checked(record, headers, items, principal, None, opened)

    async def store(self, checked: Checked) -> tuple[bytes, dict[str, Any]]:
        """Store the checked record's good events; return (receipt key, receipt)."""
        record, items, principal = checked.record, checked.items, checked.principal
        results: list[dict[str, Any] | None] = [None] * len(items)
        if checked.refusal is not None or principal is None:
            refusal = checked.refusal or {}
            results = [rejected(i, item.value, refusal) for i, item in enumerate(items)]
        else:
            passed: list[RawItem] = []
            passed_index: list[int] = []
            for index, (item, check) in enumerate(zip(items, checked.opened, strict=True)):
                if isinstance(check, RawItem):
                    passed.append(check)
                    passed_index.append(index)
                else:
                    results[index] = rejected(index, item.value, check)
                    self.intake_metrics.events.labels(type_label(item.value), "rejected").inc()
            checked.opened = []  # the opened CPRs go no further than ingest_items
            outcome = await ingest_items(passed, principal=principal, pool=self.pool,
                                         pseudonym_key=self.pseudonym_key,
                                         metrics=self.intake_metrics)
            del passed
            for result in outcome.results:
                index = passed_index[result["index"]]
                result["index"] = index
                if result["status"] == "rejected" and isinstance(items[index].value, dict):
                    name_sealed_field(result)
                results[index] = result
        final = [r for r in results if r is not None]
        for r in final:
            if r["status"] == "rejected":
                self.metrics.rejects.labels(r["problem"]["type"].rsplit("/", 1)[-1]).inc()
        source = next((i.value["source"] for i in items if isinstance(i.value, dict)
                       and isinstance(i.value.get("source"), str)), None)
        if source is not None and len(source) > MAX_HEADER_CHARS:
            source = None
        key = source or (principal.subject if principal else "") or "unknown"
        receipt = {
            "accepted": sum(r["status"] == "accepted" for r in final),
            "duplicates": sum(r["status"] == "duplicate" for r in final),
            "rejected": sum(r["status"] == "rejected" for r in final),
            "results": final,
            "request_id": text_header(checked.headers, "request-id"),
            "source": source,
            "record": {"topic": record.topic, "partition": record.partition,
                       "offset": record.offset},
        }
        if receipt["rejected"]:
            log.info("ingress record has rejects", at=f"{record.topic}[{record.partition}]"
                     f"@{record.offset}", rejected=receipt["rejected"], events=len(final))
        return key.encode(), receipt

    async def process(self, batch: dict[TopicPartition, list[ConsumerRecord]],
                      consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        """Answer every record of one poll, wait for the receipts, then commit.

        The next record is checked (its CPRs opened, in a thread) while this one is stored:
        opening is a third of the ingress's CPU and libsodium releases the GIL. Records
        are still stored one after another, in partition order.
        """
        flat = [record for records in batch.values() for record in records]
        sends = []
        offsets: dict[TopicPartition, int] = {}
        ahead = asyncio.ensure_future(self.check(flat[0])) if flat else None
        try:
            for number, record in enumerate(flat):
                assert ahead is not None
                current = ahead
                ahead = (asyncio.ensure_future(self.check(flat[number + 1]))
                         if number + 1 < len(flat) else None)
                try:
                    key, receipt = await self.store(await current)
                except _TRANSIENT:
                    raise  # run() re-reads from the committed offsets and tries again
                except Exception as exc:
                    # A bug met by one record must not stop the partition behind it forever:
                    # answer it as refused (500) and go on. Only the type is logged.
                    log.error("ingress record failed", error=type(exc).__name__,
                              at=f"{record.topic}[{record.partition}]@{record.offset}")
                    key, receipt = self._failed(record)
                sends.append(await producer.send(self.receipts_topic, orjson.dumps(receipt),
                                                 key=key))
                offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
                self.metrics.records.inc()
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ahead
        await asyncio.gather(*sends)
        await self.commit(consumer, offsets)

    def _failed(self, record: ConsumerRecord) -> tuple[bytes, dict[str, Any]]:
        failure = problem("internal", "Internal error", 500,
                          "ingest could not process this record; send it again (an event "
                          "is stored at most once)")
        self.metrics.rejects.labels("internal").inc()
        # The sender's own record key (the client uses the source) keeps its receipts together.
        return record.key or b"unknown", {
            "accepted": 0, "duplicates": 0, "rejected": 1,
            "results": [rejected(0, None, failure)],
            "request_id": text_header(list(record.headers or ()), "request-id"),
            "source": None,
            "record": {"topic": record.topic, "partition": record.partition,
                       "offset": record.offset}}

    async def commit(self, consumer: AIOKafkaConsumer,
                     offsets: dict[TopicPartition, int]) -> None:
        # A method of its own so a test can kill the ingress right before it.
        await consumer.commit(offsets)

    async def observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag = 0
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is not None:
                lag += max(0, high - await consumer.position(tp))
        self.metrics.lag.set(lag)

    async def _start(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        await ensure_topics(self.settings, [self.topic, self.receipts_topic])
        await producer.start()
        await consumer.start()

    async def run(self, stop: asyncio.Event) -> None:
        options = {**consumer_options(self.settings),
                   # A record may carry up to ingest_max_bytes; fetch it whole.
                   "max_partition_fetch_bytes": self.settings.ingest_max_bytes,
                   "fetch_max_bytes": 4 * self.settings.ingest_max_bytes,
                   **self.consumer_overrides}
        while not stop.is_set():
            consumer = AIOKafkaConsumer(self.topic, group_id=self.group, **options)
            producer = make_producer(self.settings)
            try:
                # Joining the group takes seconds (a rebalance): a stop must not wait for it.
                if not await _unless_stopped(stop, self._start(consumer, producer)):
                    return
                log.info("ingress consuming", topic=self.topic, group=self.group)
                while not stop.is_set():
                    batch = await consumer.getmany(timeout_ms=100,
                                                   max_records=self.max_records)
                    if batch:
                        await self.process(batch, consumer, producer)
                    await self.observe_lag(consumer)
            except Exception as exc:
                # Database or broker away: start over from the committed offsets. What was
                # stored but not committed comes back and is answered as duplicates.
                self.metrics.errors.inc()
                log.warning("ingress failed; resuming from the committed offsets",
                            error=type(exc).__name__)
                await _sleep_or_stop(stop, 1.0)
            finally:
                await consumer.stop()
                await producer.stop()


async def _unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` unless `stop` comes first (then cancel it); True when it completed."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
