"""Prometheus on the gateway: indicator values and pipeline lag, from a cached snapshot.

A scrape must never cost a scan of the read models, and Prometheus may scrape from several
replicas at once: the collector only reads the last snapshot, and the snapshot is reloaded
from PostgreSQL at most once per `ttl_s` (by the first admitted scrape after it expired,
see `LiveFigures.refresh_before_scrape`). Only `SCRAPERS` may read it: the samples are
indicator figures, and a refused request must cost no reload. Values are for each
indicator's latest period in the read models (the platform's current month, once anyone
counts in it), suppressed as for every role but national — a dashboard is not a national
credential. A suppressed value has no sample at
all (rather than NaN), so alerts on `target_met == 0` do not fire for municipalities too
small to show. No citizen is ever a label: labels are indicator, municipality (kommunekode
or `all`) and group."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kommunepuls.auth import Role
from kommunepuls.config import Settings
from kommunepuls.domain import indicators as engine
from kommunepuls.domain.catalogue import Population
from kommunepuls.logs import get_logger
from kommunepuls.reference import municipalities
from kommunepuls.storage.audit_runs import AuditRun, latest_run
from services.gateway import queries
from services.gateway.figures import ALL, Audience
from services.gateway.freshness import Cached, Freshness, load_freshness
from services.gateway.queries import Pool

log = get_logger("kommunepuls.gateway")
LABELS = ("indicator", "municipality", "group")
# Who may scrape the gateway: the same as may read /v1/status (Prometheus holds an ops token).
SCRAPERS = (Role.ops, Role.national)


@dataclass(frozen=True, slots=True)
class Sample:
    indicator: str
    municipality: str
    group: int
    value: engine.IndicatorValue


@dataclass(frozen=True, slots=True)
class IndicatorSnapshot:
    periods: dict[str, str]  # indicator -> the period its samples are for
    samples: list[Sample] = field(default_factory=list)


async def load_snapshot(pool: Pool, settings: Settings) -> IndicatorSnapshot:
    calendar = [d.id for d in engine.CATALOGUE
                if d.population is not Population.MONTHS_SINCE_VISITATION]
    rows = await queries.latest_counts(pool, calendar)
    periods = {row["indicator"]: row["period"] for row in rows}
    audience = Audience(raw=False, threshold=settings.suppression_threshold)
    known = municipalities()
    totals: dict[tuple[str, int], list[int]] = {}
    samples = []
    for row in rows:
        if row["municipality"] not in known:
            continue
        definition = engine.definition(row["indicator"])
        samples.append(Sample(row["indicator"], row["municipality"], row["grp"],
                              audience.value(row["n"], row["d"], definition.target)))
        total = totals.setdefault((row["indicator"], row["grp"]), [0, 0])
        total[0] += row["n"]
        total[1] += row["d"]
    for (indicator, group), (n, d) in sorted(totals.items()):
        samples.append(Sample(indicator, ALL, group, audience.value(
            n, d, engine.definition(indicator).target)))
    return IndicatorSnapshot(periods, samples)


class LiveFigures:
    """The gateway's caches: pipeline freshness and the metrics snapshot (set at startup)."""

    def __init__(self, settings: Settings, ttl_s: float) -> None:
        self.settings = settings
        self.ttl_s = ttl_s
        self.freshness: Cached[Freshness] | None = None
        self.snapshot: Cached[IndicatorSnapshot] | None = None
        self.audit: Cached[AuditRun | None] | None = None

    def start(self, pool: Pool) -> None:
        partitions = self.settings.kafka_partitions
        self.freshness = Cached(lambda: load_freshness(pool, partitions), self.ttl_s)
        self.snapshot = Cached(lambda: load_snapshot(pool, self.settings), self.ttl_s)
        self.audit = Cached(lambda: latest_run(pool), self.ttl_s)

    async def refresh(self) -> None:
        if self.freshness is None or self.snapshot is None:
            return
        await self.freshness.get()
        await self.snapshot.get()
        if self.audit is not None:
            await self.audit.get()

    async def refresh_before_scrape(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # a scrape answers with the last snapshot, never fails
            log.warning("could not refresh the metrics snapshot", error=type(exc).__name__)


def _families() -> dict[str, GaugeMetricFamily]:
    def gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, documentation, labels=list(labels))

    return {
        "value": gauge("kommunepuls_indicator_value",
                       "Indicator share (0..1) in its latest period; suppressed values are "
                       "left out.", LABELS),
        "numerator": gauge("kommunepuls_indicator_numerator",
                           "Indicator numerator (citizens) in its latest period.", LABELS),
        "denominator": gauge("kommunepuls_indicator_denominator",
                             "Indicator denominator (citizens) in its latest period.", LABELS),
        "met": gauge("kommunepuls_indicator_target_met",
                     "1 if the indicator meets its target in its latest period, else 0.",
                     LABELS),
        "lag_seconds": gauge("kommunepuls_pipeline_lag_seconds",
                             "How long the oldest event not yet in the read models has waited."),
        "lag_events": gauge("kommunepuls_pipeline_lag_events",
                            "Stored events not yet reflected in the read models."),
        "head": gauge("kommunepuls_event_store_head_position",
                      "Newest position in the event store."),
        "through": gauge("kommunepuls_read_models_through_position",
                         "Every event up to this position is reflected in the read models."),
        "audit_passed": gauge("kommunepuls_audit_last_passed_timestamp_seconds",
                              "When `kommunepuls audit` last passed (Unix time)."),
        "audit_ok": gauge("kommunepuls_audit_last_run_passed",
                          "1 if the newest audit run passed, else 0."),
    }


class GatewayCollector(Collector):
    def __init__(self, live: LiveFigures) -> None:
        self.live = live

    def describe(self) -> Iterator[Metric]:
        return iter(_families().values())

    def collect(self) -> Iterator[Metric]:
        families = _families()
        freshness = self.live.freshness.last if self.live.freshness else None
        snapshot = self.live.snapshot.last if self.live.snapshot else None
        if freshness is not None:
            families["lag_seconds"].add_metric([], freshness.lag_seconds)
            families["lag_events"].add_metric([], freshness.lag_events)
            families["head"].add_metric([], freshness.head)
            families["through"].add_metric([], freshness.through)
        audited = self.live.audit.last if self.live.audit else None
        if audited is not None:
            families["audit_ok"].add_metric([], 1.0 if audited.passed else 0.0)
            if audited.last_passed_at is not None:
                families["audit_passed"].add_metric([], audited.last_passed_at.timestamp())
        for sample in snapshot.samples if snapshot is not None else ():
            value = sample.value
            labels = [sample.indicator, sample.municipality, str(sample.group)]
            if value.suppressed or value.value is None:
                continue
            families["value"].add_metric(labels, value.value)
            families["numerator"].add_metric(labels, value.numerator or 0)
            families["denominator"].add_metric(labels, value.denominator or 0)
            if value.met is not None:
                families["met"].add_metric(labels, 1.0 if value.met else 0.0)
        return iter(families.values())

