"""deploy/prometheus: the scrape config and the alert rules, checked by promtool itself
(`check config`, `check rules`, and the alert unit tests with `test rules`), plus what
promtool cannot know: that every alert has a unit test and the targets are our services.

promtool comes from Debian's `prometheus` package (`apt-get install -y prometheus`).
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import yaml

from tests.unit.deploy_helpers import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = sorted(PROMETHEUS_DIR.glob("*_test.yml"))
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"

# service -> the Settings port variable its scrape target must use
SERVICE_PORTS = {
    "ingest": "KOMMUNEPULS_INGEST_PORT", "gateway": "KOMMUNEPULS_GATEWAY_PORT",
    "cohorts": "KOMMUNEPULS_COHORTS_WEB_PORT", "metrics": "KOMMUNEPULS_METRICS_WEB_PORT",
}
# Alerts the Observability issue asks for, with the metric each must be built on.
REQUIRED_ALERTS = {
    "KommunepulsPipelineLagHigh": "kommunepuls_pipeline_lag_seconds",
    "KommunepulsDeadLettersRising": "kommunepuls_dead_letters_total",
    "KommunepulsIngestRejectsHigh": "kommunepuls_events_ingested_total",
    "KommunepulsCriterionBelowTarget": "kommunepuls_indicator_target_met",
    "KommunepulsMunicipalitySilent": "kommunepuls_events_ingested",
    "KommunepulsServiceDown": "up",
}


def run(promtool: str, *args: str) -> str:
    result = subprocess.run([promtool, *args], cwd=PROMETHEUS_DIR, capture_output=True,
                            text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def alert_rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


# --- promtool --------------------------------------------------------------------------------

def test_promtool_accepts_the_config(promtool: str, tmp_path: Path) -> None:
    # promtool opens every credentials file, and the gateway's exists only in the running
    # stack (compose's scrape-token step writes it): check a copy that differs only in
    # pointing at a stand-in file.
    config = yaml.safe_load(CONFIG.read_text())
    stand_in = tmp_path / "scrape-token"
    stand_in.write_text("a-stand-in-token\n")
    for job in config["scrape_configs"]:
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(stand_in)
    config["rule_files"] = [str(RULES)]
    copy = tmp_path / CONFIG.name
    copy.write_text(yaml.safe_dump(config))
    run(promtool, "check", "config", str(copy))


def test_promtool_accepts_the_rules(promtool: str) -> None:
    run(promtool, "check", "rules", RULES.name)


def test_alert_unit_tests_pass(promtool: str) -> None:
    assert RULE_TESTS, "no *_test.yml files next to alerts.yml"
    output = run(promtool, "test", "rules", *(path.name for path in RULE_TESTS))
    assert "FAILED" not in output


# --- what promtool does not check ------------------------------------------------------------

def test_every_required_alert_exists_on_its_metric() -> None:
    rules = alert_rules()
    for alert, metric in REQUIRED_ALERTS.items():
        assert alert in rules, f"missing alert {alert}"
        assert metric in rules[alert]["expr"], f"{alert} does not use {metric}"
    assert rules["KommunepulsCriterionBelowTarget"]["labels"]["severity"] == "warning"
    assert 'indicator="fsm_virksomhedsforloeb"' in rules["KommunepulsCriterionBelowTarget"]["expr"]
    assert rules["KommunepulsIngestRejectsHigh"]["for"] == "10m"


def test_every_alert_has_a_severity_and_a_summary() -> None:
    for alert, rule in alert_rules().items():
        assert rule.get("labels", {}).get("severity") in ("warning", "critical"), alert
        assert rule.get("annotations", {}).get("summary"), alert


def test_every_alert_has_a_unit_test_that_fires_it_and_one_that_does_not() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        spec = yaml.safe_load(path.read_text())
        assert spec["rule_files"] == [RULES.name], path.name
        for test in spec["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert set(alert_rules()) <= fired, f"never shown firing: {set(alert_rules()) - fired}"
    assert set(alert_rules()) <= quiet, f"never shown quiet: {set(alert_rules()) - quiet}"


def test_scrape_targets_are_the_compose_services_on_their_ports() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["rule_files"] == [RULES.name]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert "prometheus" in jobs
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    for service, port_variable in SERVICE_PORTS.items():
        job = jobs[f"kommunepuls-{service}"]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        (target,) = [t for group in job["static_configs"] for t in group["targets"]]
        host, port = target.split(":")
        assert host == service, target
        assert port == str(services[service]["environment"][port_variable]), target


def test_only_the_gateway_job_sends_a_token_and_never_one_written_here() -> None:
    jobs = {job["job_name"]: job for job in yaml.safe_load(CONFIG.read_text())["scrape_configs"]}
    authorization = jobs["kommunepuls-gateway"]["authorization"]
    assert authorization["type"] == "Bearer"
    assert "credentials" not in authorization, "a token in git: use credentials_file"
    assert Path(authorization["credentials_file"]).is_absolute()
    for name, job in jobs.items():
        if name != "kommunepuls-gateway":
            assert not {"authorization", "bearer_token", "bearer_token_file",
                        "basic_auth"} & set(job), f"{name}'s /metrics is open"


def test_the_kubernetes_gateway_job_in_operate_md_passes_promtool(promtool: str,
                                                                   tmp_path: Path) -> None:
    # Without the Prometheus Operator the gateway needs a job of its own that sends the
    # token; docs/OPERATE.md ("Scrape token") gives it, and it must be a working config.
    text = (REPO_ROOT / "docs" / "OPERATE.md").read_text()
    section = text[text.index("## Scrape token"):]
    section = section[:section.index("\n## ")]
    (snippet,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    (job,) = yaml.safe_load(textwrap.dedent(snippet))
    assert job["job_name"] == "kommunepuls-gateway", "the job name alerts.yml expects"
    assert job["authorization"]["type"] == "Bearer"
    assert job["kubernetes_sd_configs"] == [
        {"role": "pod", "namespaces": {"names": ["kommunepuls"]}}]
    stand_in = tmp_path / "token"
    stand_in.write_text("a-stand-in-token\n")
    job["authorization"]["credentials_file"] = str(stand_in)
    # Debian's promtool is built without Kubernetes discovery: the rest (authorization,
    # relabelling) is checked with a static target in its place.
    job["static_configs"] = [{"targets": ["gateway:8000"]}]
    del job["kubernetes_sd_configs"]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": [job]}))
    run(promtool, "check", "config", str(config))


def test_compose_mounts_this_directory_into_prometheus() -> None:
    prometheus = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["prometheus"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in prometheus["volumes"]}
    directory = "./" + PROMETHEUS_DIR.relative_to(REPO_ROOT).as_posix()
    target = mounts[directory]
    assert f"--config.file={target}/{CONFIG.name}" in prometheus["command"]

