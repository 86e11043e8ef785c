"""A client for fagsystems: send case events over HTTP or Kafka, get per-event results.

    key = await fetch_ingest_key("https://ingest.example")       # once; it rarely changes
    result = await publish_kafka(events, bootstrap_servers="kafka:9092", token=TOKEN,
                                 public_key=key)
    result = await publish_http(events, url="https://ingest.example", token=TOKEN)

Both validate every event locally with the contract's own models first (nothing is sent if
one is invalid: `InvalidEvents` says which and why), send in batches, retry a failed batch
with the same bytes (so the same event_ids: the platform stores an event once and answers
a repeat as `duplicate`), and return one `IngestResult` whose `index` is the position in
`events`. On Kafka the CPR is sealed to the platform's key first (`cpr` -> `cpr_sealed`),
and the results come from the receipts topic.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from nacl.public import PublicKey
from pydantic import ValidationError

from kommunepuls.domain.events import parse_event, validation_problems
from kommunepuls.sealing import decode_public_key, seal_cpr
from services.ingest.models import IngestResult
from services.ingest.receipts import Receipt

NDJSON = "application/x-ndjson"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ClientError(Exception):
    """Root of the client's failures."""


class InvalidEvents(ClientError):
    """Events that break the contract, found locally; nothing was sent."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} invalid event(s); nothing was sent")
        self.problems = problems  # [{"index", "event_id", "errors": [{"loc", "msg"}]}]


class PublishError(ClientError):
    """The platform refused a batch, or could not be reached after every attempt."""

    def __init__(self, message: str, *, status: int | None = None,
                 problem: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem


class ReceiptTimeout(ClientError):
    """Some records got no receipt in time. Sending the same events again is safe."""

    def __init__(self, missing: int, partial: IngestResult) -> None:
        super().__init__(f"{missing} record(s) without a receipt")
        self.partial = partial


def validate(events: Sequence[Mapping[str, Any]], *, today: date | None = None) -> None:
    """Check every event against the contract (the models ingest uses); raise InvalidEvents."""
    problems = []
    for index, event in enumerate(events):
        try:
            parse_event(dict(event), today=today)
        except ValidationError as exc:
            event_id = event.get("event_id") if isinstance(event, Mapping) else None
            problems.append({"index": index, "event_id": event_id,
                             "errors": validation_problems(exc)})
    if problems:
        raise InvalidEvents(problems)


def merge(parts: Sequence[tuple[int, IngestResult]]) -> IngestResult:
    """One result for all batches: each batch's indexes shifted by where it started."""
    results = [r.model_copy(update={"index": start + r.index})
               for start, part in parts for r in part.results]
    results.sort(key=lambda r: r.index)
    return IngestResult(
        accepted=sum(r.status == "accepted" for r in results),
        duplicates=sum(r.status == "duplicate" for r in results),
        rejected=sum(r.status == "rejected" for r in results), results=results)


async def fetch_ingest_key(url: str, *, request_timeout_s: float = 10.0,
                           transport: httpx.AsyncBaseTransport | None = None) -> str:
    """The platform's public key for sealing CPRs (base64), from GET /v1/ingest-key."""
    async with httpx.AsyncClient(timeout=request_timeout_s, transport=transport) as client:
        response = await client.get(url.rstrip("/") + "/v1/ingest-key")
        response.raise_for_status()
        return str(response.json()["public_key"])


async def publish_http(events: Sequence[Mapping[str, Any]], *, url: str, token: str,
                       batch_size: int = 1000, attempts: int = 5,
                       request_timeout_s: float = 60.0,
                       transport: httpx.AsyncBaseTransport | None = None) -> IngestResult:
    """POST the events to `url`/v1/events as NDJSON batches; the merged per-event results.

    `transport` replaces httpx's (custom TLS, proxies, tests)."""
    validate(events)
    endpoint = url.rstrip("/") + "/v1/events"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": NDJSON}
    parts = []
    async with httpx.AsyncClient(timeout=request_timeout_s, transport=transport) as client:
        for start in range(0, len(events), batch_size):
            body = b"\n".join(orjson.dumps(dict(e)) for e in events[start:start + batch_size])
            parts.append((start, await _post(client, endpoint, body, headers, attempts)))
    return merge(parts)


async def _post(client: httpx.AsyncClient, endpoint: str, body: bytes,
                headers: dict[str, str], attempts: int) -> IngestResult:
    for attempt in range(1, attempts + 1):
        try:
            response = await client.post(endpoint, content=body, headers=headers)
        except httpx.TransportError as exc:
            if attempt == attempts:
                raise PublishError(f"{endpoint} unreachable: {type(exc).__name__}") from None
        else:
            if response.status_code == 200:
                return IngestResult.model_validate_json(response.content)
            if response.status_code not in _RETRY_STATUSES or attempt == attempts:
                raise PublishError(f"{endpoint} answered {response.status_code}",
                                   status=response.status_code, problem=_json(response))
        await asyncio.sleep(min(8.0, 0.25 * 2 ** attempt))  # the same body again, later
    raise AssertionError("unreachable")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Record:
    request_id: str
    start: int
    key: bytes
    value: bytes


def seal_batch(events: Sequence[Mapping[str, Any]], public_key: PublicKey) -> bytes:
    """The events as NDJSON with each `cpr` replaced by `cpr_sealed`.

    A citizen's CPR is sealed once per batch and that sealed value repeated: sealing (and
    opening) is an X25519 operation (~0.2 ms here), ~30x the cost of everything else per
    event. The repeat tells a topic reader only that these events share a citizen, not who.
    """
    sealed: dict[str, str] = {}
    lines = []
    for event in events:
        cpr = event["cpr"]
        if cpr not in sealed:
            sealed[cpr] = seal_cpr(public_key, cpr)
        envelope = {k: v for k, v in event.items() if k != "cpr"}
        envelope["cpr_sealed"] = sealed[cpr]
        lines.append(orjson.dumps(envelope))
    return b"\n".join(lines)


async def publish_kafka(events: Sequence[Mapping[str, Any]], *, bootstrap_servers: str,
                        token: str, public_key: PublicKey | bytes | str,
                        topic: str = "fagsystem-events",
                        receipts_topic: str = "fagsystem-receipts", batch_size: int = 1000,
                        receipt_timeout_s: float = 60.0, attempts: int = 3,
                        kafka_options: Mapping[str, Any] | None = None) -> IngestResult:
    """Publish the events (CPR sealed) to the ingress topic and wait for their receipts.

    `batch_size` events go in one record (~350 KB per 1,000: keep it under the broker's
    `message.max.bytes`, 1 MB by default). `kafka_options` go to both the producer and the
    receipts consumer (TLS, SASL, ...).
    Records without a receipt after `receipt_timeout_s` are sent again (same bytes), up to
    `attempts` times in all; then ReceiptTimeout, carrying what did arrive.
    """
    validate(events)
    key = decode_public_key(public_key)
    options = dict(kafka_options or {})
    receipts = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None,
                                enable_auto_commit=False, **options)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all",
                                linger_ms=5, max_request_size=16 * 1024 * 1024, **options)
    records: list[_Record] = []
    answered: dict[str, Receipt] = {}
    await receipts.start()
    try:
        await producer.start()
        try:
            # Positioned before sending, so no receipt can come before we listen.
            await _listen_from_end(receipts, producer, receipts_topic)
            # Each record is sent as soon as it is sealed, so ingest works meanwhile.
            records = await _send(producer, topic, _sealed(events, batch_size, key), token,
                                  attempts)
            for attempt in range(1, attempts + 1):
                await _collect(receipts, {r.request_id for r in records}, answered,
                               time.monotonic() + receipt_timeout_s)
                # No receipt yet, or "ingest failed" (500, like an HTTP 5xx): send again.
                again = [r for r in records if r.request_id not in answered
                         or _server_failed(answered[r.request_id])]
                if not again or attempt == attempts:
                    break
                for record in again:
                    answered.pop(record.request_id, None)
                await _send(producer, topic, _each(again), token, attempts)
        finally:
            await producer.stop()
    finally:
        await receipts.stop()
    parts = [(r.start, answered[r.request_id]) for r in records if r.request_id in answered]
    result = merge(parts)
    if len(parts) < len(records):
        raise ReceiptTimeout(len(records) - len(parts), result)
    return result


def _server_failed(receipt: Receipt) -> bool:
    return any(r.problem is not None and r.problem.status >= 500 for r in receipt.results)


async def _listen_from_end(consumer: AIOKafkaConsumer, producer: AIOKafkaProducer,
                           topic: str) -> None:
    # The producer's partitions_for waits for the topic's metadata (the consumer's cache
    # only knows topics that existed when it started).
    try:
        partitions = await producer.partitions_for(topic)
    except KafkaError:
        raise PublishError(f"the receipts topic {topic!r} does not exist") from None
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    for tp, offset in (await consumer.end_offsets(tps)).items():
        consumer.seek(tp, offset)


async def _sealed(events: Sequence[Mapping[str, Any]], batch_size: int,
                  key: PublicKey) -> AsyncIterator[_Record]:
    for start in range(0, len(events), batch_size):
        batch = events[start:start + batch_size]
        source = str(batch[0].get("source") or "")
        # In a thread: libsodium releases the GIL, so sending goes on meanwhile.
        value = await asyncio.to_thread(seal_batch, batch, key)
        yield _Record(uuid.uuid4().hex, start, source.encode(), value)


async def _each(records: Sequence[_Record]) -> AsyncIterator[_Record]:
    for record in records:
        yield record


async def _send(producer: AIOKafkaProducer, topic: str, records: AsyncIterator[_Record],
                token: str, attempts: int) -> list[_Record]:
    """Send every record, wait for the broker, send the failed ones again (same bytes);
    return the records sent."""
    authorization = ("authorization", f"Bearer {token}".encode())
    sent: list[_Record] = []
    futures = []
    async for record in records:
        sent.append(record)
        futures.append(await producer.send(
            topic, record.value, key=record.key,
            headers=[authorization, ("request-id", record.request_id.encode())]))
    pending = sent
    for attempt in range(1, attempts + 1):
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        failed = [(r, o) for r, o in zip(pending, outcomes, strict=True)
                  if isinstance(o, BaseException)]
        if not failed:
            return sent
        error = failed[0][1]
        if not isinstance(error, KafkaError) or attempt == attempts:
            raise PublishError(f"cannot publish to {topic}: {type(error).__name__}") from None
        await asyncio.sleep(min(8.0, 0.25 * 2 ** attempt))
        pending = [r for r, _ in failed]
        futures = [await producer.send(
            topic, r.value, key=r.key,
            headers=[authorization, ("request-id", r.request_id.encode())]) for r in pending]
    return sent


async def _collect(consumer: AIOKafkaConsumer, wanted: set[str], answered: dict[str, Receipt],
                   deadline: float) -> None:
    while wanted - answered.keys() and time.monotonic() < deadline:
        batch = await consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for record in records:
                try:
                    body = orjson.loads(record.value or b"")
                except orjson.JSONDecodeError:
                    continue  # not a receipt of ours
                request_id = body.get("request_id") if isinstance(body, dict) else None
                if request_id in wanted and request_id not in answered:
                    answered[request_id] = Receipt.model_validate(body)
