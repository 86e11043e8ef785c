"""Every PromQL expression in the dashboards names only metrics the services really export.

The inventory is read from the services themselves: each service's app is built with an
injected registry (no server, no database), plus the relay's metrics, which the ingest app
registers only when it starts. A renamed metric breaks this test, not a dashboard in
production. Syntax is checked by a real Prometheus in tests/integration/test_prometheus_scrape.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from kommunepuls.config import Settings
from kommunepuls.dashboards import build_dashboards
from tests.unit.deploy_helpers import FAKE_SECRETS, REPO_ROOT

SERVICES = ("ingest", "gateway", "cohorts", "metrics")
# The gateway's indicator families, known even if its collector changes shape (Gateway issue).
GATEWAY_INDICATOR_METRICS = frozenset({
    "kommunepuls_indicator_value", "kommunepuls_indicator_numerator",
    "kommunepuls_indicator_denominator", "kommunepuls_indicator_target_met",
    "kommunepuls_pipeline_lag_seconds", "kommunepuls_pipeline_lag_events",
})
# Series Prometheus makes itself: scrape health and the state of its alerts.
PROMETHEUS_BUILTINS = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds",
                                 "scrape_samples_scraped"})
OPERATE = REPO_ROOT / "docs" / "OPERATE.md"

# --- what the services export ----------------------------------------------------------------

# Sample names of each metric type, from the family name prometheus_client reports
# (a counter's family name has no `_total`).
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "unknown": ("",),
}


def sample_names(registry: CollectorRegistry | Collector) -> dict[str, str]:
    """Every sample name a registry can export -> its family's type."""
    names = {}
    for family in registry.collect():
        for suffix in _SUFFIXES[family.type]:
            names[family.name + suffix] = family.type
    return names


def family_names(registry: CollectorRegistry | Collector) -> set[str]:
    """Metric names as people write them: a counter with its `_total`, a histogram bare."""
    return {f.name + ("_total" if f.type == "counter" else "") for f in registry.collect()}


def service_registries(settings: Settings) -> Iterator[tuple[str, CollectorRegistry]]:
    """Each service's registry as its composition root builds it (nothing is started)."""
    from services.cohorts.app import create_app as create_cohorts
    from services.gateway.app import create_app as create_gateway
    from services.ingest.app import create_app as create_ingest
    from services.ingest.relay import RelayMetrics
    from services.metrics.app import create_app as create_metrics

    try:
        from services.ingest.ingress import IngressMetrics
    except ImportError:  # the Kafka ingress, where it is not (yet) part of ingest
        IngressMetrics = None

    for service, factory in (("ingest", create_ingest), ("gateway", create_gateway),
                             ("cohorts", create_cohorts), ("metrics", create_metrics)):
        registry = CollectorRegistry()
        factory(settings, registry)
        if service == "ingest":
            # Registered by the app's startup, which needs a database and a broker.
            RelayMetrics(registry)
            if IngressMetrics is not None and not _has(registry, "kommunepuls_ingress_records"):
                IngressMetrics(registry)
        yield service, registry


def _has(registry: CollectorRegistry, family: str) -> bool:
    return any(f.name == family for f in registry.collect())


def offline_settings(tmp_path: Path) -> Settings:
    return Settings(profile="embedded", data_dir=tmp_path / "data",
                    pseudonym_key=FAKE_SECRETS["KOMMUNEPULS_PSEUDONYM_KEY"],
                    jwt_secret=FAKE_SECRETS["KOMMUNEPULS_JWT_SECRET"])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CollectorRegistry]:
    return dict(service_registries(offline_settings(tmp_path_factory.mktemp("inventory"))))


@pytest.fixture(scope="module")
def inventory(registries: dict[str, CollectorRegistry]) -> dict[str, dict[str, str]]:
    """service -> {sample name: type}."""
    return {service: sample_names(registry) for service, registry in registries.items()}


def recording_rules() -> set[str]:
    groups = yaml.safe_load((REPO_ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


# --- metric names in PromQL ------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
# An identifier not inside a number (1e3) or a variable ($__rate_interval), and not a call.
_NAME = re.compile(r"(?<![\w.$:])[A-Za-z_:][\w:]*+(?!\s*\()")
_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                       "and", "or", "unless", "offset", "inf", "nan"})


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    return {name for name in _NAME.findall(text) if name.lower() not in _KEYWORDS}


def dashboard_expressions() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) for every PromQL query in the generated dashboards."""
    found = []
    for name, dashboard in build_dashboards().items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if "expr" in target:
                    found.append((name, panel["title"], target["expr"]))
    return found


@pytest.mark.parametrize(("expr", "names"), [
    ('sum by (status) (rate(kommunepuls_events_ingested_total{status="rejected"}[5m]))',
     {"kommunepuls_events_ingested_total"}),
    ("histogram_quantile(0.99, sum by (le, service) (rate(x_bucket[$__rate_interval])))",
     {"x_bucket"}),
    ("max(a) - on () group_right max by (partition) (b)", {"a", "b"}),
    ('count(v{m!="all"} >= scalar(v{m="$municipality"})) or vector(0)', {"v"}),
    ("sum(n{x=~\"1|2\"} and on (municipality) (d{g=\"1\"} >= 100 <= 500)) / 1e3", {"n", "d"}),
    ("topk(10, municipality:kommunepuls_events_ingested:increase1h)",
     {"municipality:kommunepuls_events_ingested:increase1h"}),
])
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


# --- the checks ------------------------------------------------------------------------------

def test_the_inventory_holds_every_service_and_the_metrics_the_issue_asks_for(
        inventory: dict[str, dict[str, str]]) -> None:
    assert set(inventory) == set(SERVICES)
    for service in ("ingest", "gateway"):
        assert "kommunepuls_http_request_duration_seconds_bucket" in inventory[service]
    assert "kommunepuls_events_ingested_total" in inventory["ingest"]
    assert "kommunepuls_relay_lag_seconds" in inventory["ingest"]
    for service in ("cohorts", "metrics"):
        assert "kommunepuls_dead_letters_total" in inventory[service]
    assert GATEWAY_INDICATOR_METRICS <= set(inventory["gateway"]), (
        "the gateway no longer exports an indicator family the dashboards and alerts use")


def test_every_promql_metric_in_the_dashboards_is_exported(
        inventory: dict[str, dict[str, str]]) -> None:
    known = set().union(*inventory.values()) | GATEWAY_INDICATOR_METRICS
    known |= PROMETHEUS_BUILTINS | recording_rules()
    expressions = dashboard_expressions()
    assert len(expressions) > 50
    unknown = [(dashboard, title, name) for dashboard, title, expr in expressions
               for name in sorted(metric_names(expr)) if name not in known]
    assert not unknown, f"metrics no service exports: {unknown}"


def test_every_service_appears_on_the_pipeline_dashboard(
        inventory: dict[str, dict[str, str]]) -> None:
    used = set().union(*(metric_names(expr) for dashboard, _, expr in dashboard_expressions()
                         if dashboard == "pipeline-health.json"))
    for service, names in inventory.items():
        assert used & set(names), f"no panel shows a metric of {service}"


def test_rates_are_taken_of_counters_and_quantiles_of_histograms(
        inventory: dict[str, dict[str, str]]) -> None:
    types = {name: kind for names in inventory.values() for name, kind in names.items()}
    for _, title, expr in dashboard_expressions():
        for function, argument in re.findall(r"\b(rate|increase)\((\w+)", expr):
            assert types.get(argument) in ("counter", "histogram"), (title, function, argument)
            assert not argument.endswith("_created"), title


def test_operate_documents_every_exported_metric(
        registries: dict[str, CollectorRegistry]) -> None:
    text = OPERATE.read_text()
    names = set().union(*(family_names(registry) for registry in registries.values()))
    missing = sorted(name for name in names if f"`{name}`" not in text)
    assert not missing, f"docs/OPERATE.md does not list: {missing}"
