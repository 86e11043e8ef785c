"""The Kafka ingress against the real broker and database: the client publishes sealed
events, ingest stores them once and answers on the receipts topic; bad records store
nothing; a kill between store and commit stores nothing twice; no topic holds a CPR."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi.testclient import TestClient
from nacl.public import PrivateKey
from prometheus_client import CollectorRegistry

from bench.ingress import measure
from kommunepuls.auth import Role, issue_token
from kommunepuls.client import fetch_ingest_key, publish_http, publish_kafka, seal_batch
from kommunepuls.config import Settings
from kommunepuls.domain.events import EXAMPLES
from kommunepuls.domain.identifiers import citizen_id
from kommunepuls.embedded.broker import TansuBroker
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.kafka import ensure_topics, make_producer, topic_name
from kommunepuls.sealing import Opener, decode_public_key, encode_key
from services.ingest.app import create_app
from services.ingest.ingress import Ingress
from services.ingest.intake import IntakeMetrics
from services.ingest.receipts import Receipt
from services.ingest.relay import Relay

# Made-up CPR numbers (valid dates), one per test, so a scan finds exactly its own.
CPRS_SCANNED = ("1503787766", "2811925544")
CPR_PLAINTEXT = "0607891122"
CPR_OTHER = "1212801234"
# Tansu ignores LeaveGroup: a restarted member waits out the old one's session, and every
# join waits the rebalance timeout. Shorter ones keep this file fast.
QUICK_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500,
               "rebalance_timeout_ms": 1000}


def events(n: int, cprs: tuple[str, ...] = (CPR_OTHER,), municipality: str = "851"
           ) -> list[dict[str, Any]]:
    kinds = ("visitation", "samtale", "tilbud_started", "caseworker_assigned")
    out = []
    for i in range(n):
        event = deepcopy(EXAMPLES[kinds[i % len(kinds)]])
        event.update(event_id=str(uuid4()), cpr=cprs[i % len(cprs)], municipality=municipality)
        out.append(event)
    return out


def token(secret: bytes, municipalities: tuple[str, ...] = ("851",),
          role: Role = Role.fagsystem) -> str:
    return issue_token(secret, subject="fagsystem-x", role=role,
                       municipalities=list(municipalities))


@dataclass
class Running:
    ingress: Ingress
    registry: CollectorRegistry
    public_key: str
    settings: Settings

    def publish(self, secret: bytes, evs: list[dict[str, Any]], **kw: Any) -> Any:
        return publish_kafka(evs, bootstrap_servers=self.settings.kafka_bootstrap_servers,
                             token=token(secret, **kw), public_key=self.public_key,
                             topic=self.ingress.topic, receipts_topic=self.ingress.receipts_topic,
                             batch_size=40, receipt_timeout_s=20)

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


@contextlib.asynccontextmanager
async def running_ingress(settings: Settings, db: asyncpg.Pool, key: PrivateKey,
                          **options: Any) -> AsyncIterator[Running]:
    registry = CollectorRegistry()
    ingress = Ingress(settings, db, registry, opener=Opener(key),
                      intake_metrics=IntakeMetrics(registry), consumer_overrides=QUICK_GROUP,
                      **options)
    stop = asyncio.Event()
    task = asyncio.create_task(ingress.run(stop))
    try:
        yield Running(ingress, registry, encode_key(key.public_key), settings)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def topics(settings: Settings) -> Settings:
    await ensure_topics(settings)
    return settings


async def eventually(condition: Callable[[], bool], budget_s: float = 20) -> None:
    for _ in range(int(budget_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


async def stored(db: asyncpg.Pool) -> list[asyncpg.Record]:
    return await db.fetch("SELECT event_id, citizen_id FROM events ORDER BY position")


async def read_topic(settings: Settings, topic: str) -> list[Any]:
    """Every record of `topic`, from the start (no consumer group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        async with asyncio.timeout(20):
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def receipts_on_topic(settings: Settings) -> list[Receipt]:
    records = await read_topic(settings, topic_name(settings, settings.topic_receipts))
    return [Receipt.model_validate_json(r.value) for r in records]


async def test_published_events_are_stored_once_with_receipts_and_no_topic_holds_a_cpr(
        topics: Settings, db: asyncpg.Pool, jwt_secret: bytes) -> None:
    settings = topics
    sent = events(100, CPRS_SCANNED)
    async with running_ingress(settings, db, PrivateKey.generate()) as running:
        result = await running.publish(jwt_secret, sent)
        again = await running.publish(jwt_secret, sent[:40])  # a retry: same event_ids
        assert running.metric("kommunepuls_ingress_records_total") == 4
    assert (result.accepted, result.duplicates, result.rejected) == (100, 0, 0)
    assert [r.index for r in result.results] == list(range(100))
    assert [r.event_id for r in result.results] == [e["event_id"] for e in sent]
    assert (again.accepted, again.duplicates) == (0, 40)
    assert [r.position for r in again.results] == [r.position for r in result.results[:40]]

    rows = await stored(db)
    assert [str(r["event_id"]) for r in rows] == [e["event_id"] for e in sent]
    key = settings.secret("pseudonym_key")
    assert {r["citizen_id"] for r in rows} == {citizen_id(c, key) for c in CPRS_SCANNED}

    receipts = await receipts_on_topic(settings)
    assert [(r.accepted, r.duplicates) for r in receipts] == [(40, 0), (40, 0), (20, 0),
                                                              (0, 40)]
    assert all(r.source == "example-fagsystem" and r.request_id for r in receipts)

    # The relay puts the stored events on case-events too, so every topic has data.
    relay = Relay(settings, db, CollectorRegistry())
    producer = make_producer(settings)
    await producer.start()
    try:
        assert await relay.publish_pending(producer) == 100
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        ours = sorted(t for t in await admin.list_topics()
                      if t.startswith(settings.topic_prefix))
    finally:
        await admin.close()
    assert len(ours) == 5
    raw = b""
    for topic in ours:
        for record in await read_topic(settings, topic):
            raw += (record.key or b"") + (record.value or b"")
            raw += b"".join(k.encode() + v for k, v in record.headers)
    assert b"cpr_sealed" in raw and b'"accepted":40' in raw  # the scan sees the records
    for cpr in CPRS_SCANNED:
        for text in (cpr, f"{cpr[:6]}-{cpr[6:]}"):
            assert text.encode() not in raw


def raw_record(public_key: str, evs: list[dict[str, Any]]) -> bytes:
    """What the client puts in one record: NDJSON, each CPR sealed to `public_key`."""
    return seal_batch(evs, decode_public_key(public_key))


async def test_bad_tokens_plaintext_cprs_and_malformed_records_are_rejected_unstored(
        topics: Settings, db: asyncpg.Pool, jwt_secret: bytes) -> None:
    settings = topics
    async with running_ingress(settings, db, PrivateKey.generate()) as running:
        forged = await publish_kafka(
            events(2), bootstrap_servers=settings.kafka_bootstrap_servers,
            token=token(b"not-the-platform-secret-" + b"x" * 20),
            public_key=running.public_key, topic=running.ingress.topic,
            receipts_topic=running.ingress.receipts_topic, receipt_timeout_s=20)
        foreign = await running.publish(jwt_secret, events(2), municipalities=("101",))
        national = await running.publish(jwt_secret, events(1), role=Role.national,
                                         municipalities=())
        plaintext = events(1, (CPR_PLAINTEXT,))
        sealed_elsewhere = raw_record(encode_key(PrivateKey.generate().public_key), events(1))
        bearer = [("authorization", f"Bearer {token(jwt_secret)}".encode())]
        producer = make_producer(settings)
        await producer.start()
        try:
            for value, headers in ((orjson.dumps(plaintext[0]), bearer),
                                   (b'{"event_id": "broken', bearer),
                                   (sealed_elsewhere, bearer),
                                   (raw_record(running.public_key, events(1)), [])):
                await producer.send_and_wait(running.ingress.topic, value, headers=headers)
        finally:
            await producer.stop()
        await eventually(lambda: running.metric("kommunepuls_ingress_records_total") == 7)
        rejects = {reason: running.metric("kommunepuls_ingress_rejects_total", reason=reason)
                   for reason in ("unauthorized", "forbidden", "plaintext-cpr",
                                  "malformed-json", "sealed-cpr")}
    assert [r.status for r in forged.results + foreign.results + national.results] == \
        ["rejected"] * 5
    assert forged.results[0].problem and forged.results[0].problem.status == 401
    assert foreign.results[0].problem and foreign.results[0].problem.status == 403
    assert "municipality 851" in (foreign.results[0].problem.detail or "")
    assert national.results[0].problem and national.results[0].problem.status == 403
    assert rejects == {"unauthorized": 3, "forbidden": 3, "plaintext-cpr": 1,
                       "malformed-json": 1, "sealed-cpr": 1}

    receipts = await receipts_on_topic(settings)  # several partitions: in no fixed order
    assert len(receipts) == 7 and all(r.rejected in (1, 2) and not r.accepted for r in receipts)
    by_type = {r.results[0].problem.type.rsplit("/", 1)[-1]: r for r in receipts
               if r.results[0].problem and r.request_id is None}
    problem = by_type["plaintext-cpr"].results[0].problem
    assert problem and problem.errors and problem.errors[0].loc == ["cpr"]
    assert by_type["plaintext-cpr"].results[0].event_id == plaintext[0]["event_id"]
    assert CPR_PLAINTEXT not in by_type["plaintext-cpr"].model_dump_json()
    assert by_type["malformed-json"].results[0].event_id is None
    assert "bearer token is required" in (by_type["unauthorized"].results[0].problem.detail
                                          or "")
    assert await stored(db) == []


async def test_a_kill_between_store_and_commit_stores_each_event_once(
        topics: Settings, db: asyncpg.Pool, jwt_secret: bytes) -> None:
    settings, key = topics, PrivateKey.generate()
    sent = events(150)
    records = [raw_record(encode_key(key.public_key), sent[i:i + 25]) for i in range(0, 150, 25)]
    headers = [("authorization", f"Bearer {token(jwt_secret)}".encode())]
    commits = 0
    hung = asyncio.Event()

    async def commit_then_die(consumer: AIOKafkaConsumer,
                              offsets: dict[TopicPartition, int]) -> None:
        nonlocal commits
        commits += 1
        if commits == 1:
            await consumer.commit(offsets)
            return
        hung.set()
        await asyncio.Event().wait()  # the process "dies" here: stored, receipts sent

    registry = CollectorRegistry()
    first = Ingress(settings, db, registry, opener=Opener(key),
                    intake_metrics=IntakeMetrics(registry), max_records=2,
                    consumer_overrides=QUICK_GROUP)
    first.commit = commit_then_die  # type: ignore[method-assign]
    producer = make_producer(settings)
    await producer.start()
    try:
        for value in records:
            await producer.send_and_wait(first.topic, value, key=b"example-fagsystem",
                                         headers=headers)
    finally:
        await producer.stop()
    task = asyncio.create_task(first.run(asyncio.Event()))
    async with asyncio.timeout(20):
        await hung.wait()
    assert len(await stored(db)) == 100  # two polls of two records, the second uncommitted
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    async with running_ingress(settings, db, key) as running:
        await eventually(lambda: running.metric("kommunepuls_ingress_records_total") == 4)
    rows = await stored(db)
    assert sorted(str(r["event_id"]) for r in rows) == sorted(e["event_id"] for e in sent)
    receipts = await receipts_on_topic(settings)
    assert [(r.accepted, r.duplicates) for r in receipts] == \
        [(25, 0)] * 4 + [(0, 25)] * 2 + [(25, 0)] * 2


async def test_a_record_that_breaks_the_ingress_is_refused_and_the_client_sends_it_again(
        topics: Settings, db: asyncpg.Pool, jwt_secret: bytes) -> None:
    async with running_ingress(topics, db, PrivateKey.generate()) as running:
        open_items = running.ingress.sealed.open_items
        calls = 0

        def broken_once(items: list[Any]) -> list[Any]:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ValueError("a bug this record meets")
            return open_items(items)

        running.ingress.sealed.open_items = broken_once  # type: ignore[method-assign]
        result = await running.publish(jwt_secret, events(3))
        assert running.metric("kommunepuls_ingress_rejects_total", reason="internal") == 1
    assert result.accepted == 3 and len(await stored(db)) == 3
    second, first = sorted(await receipts_on_topic(topics), key=lambda r: r.rejected)
    assert first.results[0].problem and first.results[0].problem.status == 500
    assert first.request_id == second.request_id and second.accepted == 3


@pytest.fixture
def ingest_app(settings: Settings, db: asyncpg.Pool) -> Iterator[TestClient]:
    with TestClient(create_app(settings, relay=False, ingress=True)) as client:
        yield client


def forward_to(client: TestClient) -> Callable[[httpx.Request], httpx.Response]:
    """httpx requests answered by the app; the first POST fails (503), as a proxy might."""
    posts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal posts
        if request.method == "POST":
            posts += 1
            if posts == 1:  # the client must send the same body again
                return httpx.Response(503)
        response = client.request(request.method, request.url.path, content=request.content,
                                  headers=dict(request.headers))
        return httpx.Response(response.status_code, content=response.content)

    return handler


def test_the_ingest_app_serves_its_key_and_runs_the_ingress_beside_http(
        ingest_app: TestClient, settings: Settings, jwt_secret: bytes) -> None:
    body = ingest_app.get("/v1/ingest-key").json()
    generated = (settings.data_dir / "ingress-key.pub").read_text().strip()
    assert body == {"public_key": generated,
                    "algorithm": "libsodium sealed box, X25519-XSalsa20-Poly1305"}
    assert (settings.data_dir / "ingress-key").stat().st_mode & 0o077 == 0
    sent = events(6)
    transport = httpx.MockTransport(forward_to(ingest_app))

    async def both() -> tuple[Any, Any]:
        key = await fetch_ingest_key("http://ingest", transport=transport)
        over_kafka = await publish_kafka(
            sent, bootstrap_servers=settings.kafka_bootstrap_servers,
            token=token(jwt_secret), public_key=key,
            topic=topic_name(settings, settings.topic_ingress),
            receipts_topic=topic_name(settings, settings.topic_receipts), receipt_timeout_s=30)
        over_http = await publish_http(sent, url="http://ingest", token=token(jwt_secret),
                                       batch_size=4, transport=transport)
        return over_kafka, over_http

    over_kafka, over_http = asyncio.run(both())
    assert over_kafka.accepted == 6 and over_http.duplicates == 6
    # The same per-event results either way: positions, indexes, event_ids.
    assert [(r.index, r.event_id, r.position) for r in over_http.results] == \
        [(r.index, r.event_id, r.position) for r in over_kafka.results]
    metrics = ingest_app.get("/metrics").text
    assert "kommunepuls_ingress_records_total 1.0" in metrics
    assert "kommunepuls_ingress_consumer_lag 0.0" in metrics


async def test_the_ingress_benchmark_measures_end_to_end(postgres: EmbeddedPostgres,
                                                         broker: TansuBroker) -> None:
    report = await measure(postgres.url(), broker.bootstrap_servers, events=300, batch=100)
    assert report.events == 300 and report.rate > 0  # measure() checks the store too
    assert set(report.cpu) == {"ingress", "postgres", "client"}
    assert any("events/s through the Kafka ingress" in line for line in report.lines())
