"""Grafana dashboards as code: generated from the indicator catalogue, the experiment
registry and the services' metric names, committed as JSON under deploy/grafana/dashboards
(a test fails on drift).

    kommunepuls grafana dashboards            # regenerate the committed JSON
    kommunepuls grafana dashboards --check    # exit 1 if the JSON differs from the code
    kommunepuls grafana publish --url URL --token TOKEN
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from kommunepuls.dashboards.experiments import experiment_builders
from kommunepuls.dashboards.indicators import municipality_drilldown, national_overview
from kommunepuls.dashboards.panels import Json
from kommunepuls.dashboards.pipeline import pipeline_health

# file name -> builder; the file names are what Grafana's file provisioning loads.
BUILDERS: dict[str, Callable[[], Json]] = {
    "national-overview.json": national_overview,
    "municipality.json": municipality_drilldown,
    "pipeline-health.json": pipeline_health,
    **experiment_builders(),  # experiment-<id>.json, one per registered experiment
}


def build_dashboards() -> dict[str, Json]:
    return {name: build() for name, build in BUILDERS.items()}


def render(dashboard: Json) -> str:
    # Stable text: sorted keys and a final newline, so regenerating changes nothing.
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_dashboards(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, dashboard in build_dashboards().items():
        path = directory / name
        path.write_text(render(dashboard), encoding="utf-8")
        written.append(path)
    return written


def dashboards_drift(directory: Path) -> list[str]:
    """What differs between the generated dashboards and the JSON in `directory`."""
    drift = []
    for name, dashboard in build_dashboards().items():
        path = directory / name
        if not path.exists():
            drift.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != render(dashboard):
            drift.append(f"{path}: differs from the generator")
    for path in sorted(directory.glob("*.json")):
        if path.name not in BUILDERS:
            drift.append(f"{path}: not generated (stale?)")
    return drift
