"""The pipeline health dashboard: is every service up, how fast does it go, how far behind
is it, and is anything dead-lettered. Every metric is one a service really exports (a test
checks each expression's names against the services' registries)."""

from __future__ import annotations

from kommunepuls.dashboards import panels as p

RATE = "$__rate_interval"  # Grafana: at least 4 scrape intervals, so a rate never has < 2 points
JOBS = 'job=~"kommunepuls-.*"'  # deploy/prometheus/prometheus.yml and the k8s ServiceMonitor
# The thresholds of deploy/prometheus/alerts.yml, drawn as the panels' red lines.
LAG_ALERT_S = 300  # KommunepulsPipelineLagHigh
AUDIT_STALE_S = 26 * 3600  # KommunepulsAuditStale
REJECT_ALERT = 0.05  # KommunepulsIngestRejectsHigh


def _quantiles(metric: str, by: str = "") -> list[p.Json]:
    group = f"le, {by}" if by else "le"
    legend = f"{{{{{by}}}}} " if by else ""
    return [p.prom(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[{RATE}])))",
                   f"{legend}p{round(q * 100)}") for q in (0.5, 0.99)]


def _services() -> list[p.Panel]:
    return [
        p.panel("state-timeline", "Services up", [p.prom(f"up{{{JOBS}}}", "{{job}} {{instance}}")],
                width=12, height=6,
                config=p.field_config(steps=p.thresholds((None, p.RED), (1, p.GREEN)), mappings=[
                    {"type": "value", "options": {"0": {"text": "down", "index": 0},
                                                  "1": {"text": "up", "index": 1}}}]),
                options={"showValue": "never", "mergeValues": True, "rowHeight": 0.8},
                description="Prometheus's own `up`: 1 when the last scrape succeeded."),
        p.table("Firing alerts", [p.prom('ALERTS{alertstate="firing"}', instant=True,
                                         table=True)],
                width=12, height=6,
                description="Alerts of deploy/prometheus/alerts.yml that fire now.",
                transformations=[{"id": "organize", "options": {
                    "excludeByName": {"Time": True, "__name__": True, "Value": True,
                                      "alertstate": True}}}]),
        p.timeseries("HTTP requests by service and status",
                     [p.prom(f"sum by (service, status) "
                             f"(rate(kommunepuls_http_request_duration_seconds_count[{RATE}]))",
                             "{{service}} {{status}}")], unit="reqps"),
        p.timeseries("HTTP latency by service",
                     _quantiles("kommunepuls_http_request_duration_seconds", "service"), unit="s"),
    ]


def _ingest() -> list[p.Panel]:
    events = "kommunepuls_events_ingested_total"
    return [
        p.timeseries("Events received by status",
                     [p.prom(f"sum by (status) (rate({events}[{RATE}]))", "{{status}}")],
                     unit="ops", stack=True, width=8),
        p.timeseries("Rejected share", [p.prom(
            f'sum(rate({events}{{status="rejected"}}[{RATE}])) / sum(rate({events}[{RATE}]))',
            "rejected")], unit="percentunit", minimum=0, width=8, limit=REJECT_ALERT,
            description="The alert fires above 5 % for 10 minutes: a fagsystem may send a "
                        "broken contract; see its receipts."),
        p.timeseries("Events received by type (top 10)",
                     [p.prom(f"topk(10, sum by (type) (rate({events}[{RATE}])))", "{{type}}")],
                     unit="ops", width=8),
        p.timeseries("Events per request", _quantiles("kommunepuls_ingest_batch_events"),
                     width=8),
        p.timeseries("Event store append latency",
                     _quantiles("kommunepuls_ingest_store_append_duration_seconds"), unit="s",
                     width=8),
        p.timeseries("Events received per municipality (1 h)", [p.prom(
            "topk(15, municipality:kommunepuls_events_ingested:increase1h)", "{{municipality}}")],
            width=8, description="The recording rule behind KommunepulsMunicipalitySilent "
                                 "(evaluated every 5 minutes)."),
    ]


def _ingress() -> list[p.Panel]:
    return [
        p.timeseries("Kafka ingress: records read", [
            p.prom(f"sum(rate(kommunepuls_ingress_records_total[{RATE}]))", "records")],
            unit="ops", width=6,
            description="Records fagsystems sent on the ingress topic; their events are also "
                        "counted in 'Events received'."),
        p.timeseries("Kafka ingress: rejects by reason", [
            p.prom(f"sum by (reason) (rate(kommunepuls_ingress_rejects_total[{RATE}]))",
                   "{{reason}}")], unit="ops", width=6),
        p.timeseries("Kafka ingress: consumer lag", [
            p.prom("sum(kommunepuls_ingress_consumer_lag)", "records not yet read")],
            minimum=0, width=6),
        p.timeseries("Kafka ingress: failed batches (retried)", [
            p.prom(f"sum(rate(kommunepuls_ingress_errors_total[{RATE}]))", "errors")],
            unit="ops", width=6),
    ]


def _relay() -> list[p.Panel]:
    return [
        p.timeseries("Relay: published to case-events", [
            p.prom(f"sum(rate(kommunepuls_relay_events_published_total[{RATE}]))", "events"),
            p.prom(f"sum(rate(kommunepuls_relay_segments_published_total[{RATE}]))",
                   "segments (Kafka records)")], unit="ops", width=8),
        p.timeseries("Relay: publish errors (retried)", [
            p.prom(f"sum(rate(kommunepuls_relay_publish_errors_total[{RATE}]))", "errors")],
            unit="ops", width=8),
        p.timeseries("Relay lag", [
            p.prom("max(kommunepuls_relay_lag_seconds)", "oldest unpublished event (s)"),
            p.prom("max(kommunepuls_relay_lag_events)", "unpublished events")], width=8,
            description="Stored events not yet on Kafka. Grows when the broker is away; the "
                        "relay resumes from its checkpoint."),
    ]


def _workers() -> list[p.Panel]:
    return [
        p.timeseries("Cohorts: events folded", [p.prom(
            f"sum(rate(kommunepuls_cohorts_events_processed_total[{RATE}]))", "events")],
            unit="ops", width=8),
        p.timeseries("Cohorts: facts emitted by reason", [p.prom(
            f"sum by (reason) (rate(kommunepuls_cohorts_facts_emitted_total[{RATE}]))",
            "{{reason}}")], unit="ops", width=8),
        p.timeseries("Cohorts: batch duration",
                     _quantiles("kommunepuls_cohorts_batch_duration_seconds"), unit="s", width=8),
        p.timeseries("Metrics: facts by outcome", [p.prom(
            f"sum by (outcome) (rate(kommunepuls_metrics_facts_total[{RATE}]))",
            "{{outcome}}")], unit="ops", width=8,
            description="`stale` facts were older than what the partition already held "
                        "(at-least-once delivery; dropped by design)."),
        p.timeseries("Metrics: read-model write latency",
                     _quantiles("kommunepuls_metrics_read_model_write_duration_seconds"),
                     unit="s", width=8),
        p.timeseries("Metrics: citizens in memory by partition", [p.prom(
            "sum by (partition) (kommunepuls_metrics_citizens)", "p{{partition}}")],
            stack=True, width=8),
    ]


def _lag() -> list[p.Panel]:
    return [
        p.timeseries("Pipeline lag", [p.prom("max(kommunepuls_pipeline_lag_seconds)", "lag")],
                     unit="s", minimum=0, width=8, limit=LAG_ALERT_S,
                     description="From the gateway: how long the oldest event not yet in "
                                 "the read models has waited. The alert fires above 5 "
                                 "minutes for 2 minutes."),
        p.timeseries("Events behind the event store", [
            p.prom("max(kommunepuls_pipeline_lag_events)", "read models (all partitions)"),
            p.prom("max(kommunepuls_event_store_head_position) - on () group_right "
                   "max by (partition) (kommunepuls_metrics_events_through_position)",
                   "metrics partition {{partition}}")], minimum=0, width=8,
            description="Consumer lag in events: the store's newest position minus what each "
                        "metrics partition has written to the read models."),
        p.timeseries("Dead letters (1 h)", [p.prom(
            "sum by (service) (increase(kommunepuls_dead_letters_total[1h]))", "{{service}}")],
            minimum=0, width=8,
            description="Records a worker could not process, sent to the dead-letter topic with "
                        "the reason. None is expected: read the reasons, fix, replay."),
        p.stat("Newest audit run", [p.prom("min(kommunepuls_audit_last_run_passed)", "passed")],
               steps=p.thresholds((None, p.RED), (1, p.GREEN)), width=12,
               description="`kommunepuls audit` (nightly): 1 = the live read models passed "
                           "(counts equal the citizens' rows, settled citizens equal a fresh "
                           "fold, no old event unevaluated), 0 = failed: GET /v1/status, "
                           "audit. KommunepulsAuditFailed fires on 0."),
        p.stat("Since an audit last passed", [p.prom(
            "time() - max(kommunepuls_audit_last_passed_timestamp_seconds)", "age")],
            unit="s", steps=p.thresholds((None, p.GREEN), (AUDIT_STALE_S, p.ORANGE)), width=12,
            description="KommunepulsAuditStale fires past 26 hours: check that the "
                        "kommunepuls-audit CronJob runs."),
    ]


def pipeline_health() -> p.Json:
    layout = p.Layout()
    layout.add(p.row("Services"), *_services())
    layout.add(p.row("Pipeline lag and dead letters"), *_lag())
    layout.add(p.row("Ingest"), *_ingest())
    layout.add(p.row("Kafka ingress (topic fagsystem-events)"), *_ingress())
    layout.add(p.row("Relay: event store to Kafka"), *_relay())
    layout.add(p.row("Stream workers: cohorts and metrics"), *_workers())
    return p.dashboard(
        "kommunepuls-pipeline", "Kommunepuls — pipeline health",
        "Ingest, relay, stream workers and gateway: rates, latency, lag, errors and dead "
        "letters.", layout, time_from="now-6h", refresh="30s")
