"""deploy/grafana/dashboards: generated from the catalogue and the experiment registry (no
drift), laid out on Grafana's grid, reading only the provisioned data sources, and asking the
gateway API only what its routes really take and answer. (Metric names:
test_grafana_promql.py; publishing: test_grafana_publish.py.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from kommunepuls.cli_grafana import grafana_app
from kommunepuls.dashboards import build_dashboards, dashboards_drift, render, write_dashboards
from kommunepuls.dashboards.panels import API, PROMETHEUS
from kommunepuls.dashboards.series import calendar_series, curve_series
from kommunepuls.domain.catalogue import CATALOGUE
from kommunepuls.experiments.registry import registry as experiment_registry
from kommunepuls.experiments.series import comparable
from kommunepuls.reference import municipalities
from tests.unit.deploy_helpers import REPO_ROOT
from tests.unit.test_grafana_promql import offline_settings

DASHBOARDS_DIR = REPO_ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING = REPO_ROOT / "deploy" / "grafana" / "provisioning"

Json = dict[str, Any]


@pytest.fixture(scope="module")
def dashboards() -> dict[str, Json]:
    return build_dashboards()


def targets(dashboard: Json) -> list[tuple[Json, Json]]:
    return [(panel, target) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_committed_json_is_what_the_generator_writes() -> None:
    drift = dashboards_drift(DASHBOARDS_DIR)
    assert not drift, ("dashboards differ from kommunepuls/dashboards; run "
                       f"`kommunepuls grafana dashboards` and commit: {drift}")


def test_the_cli_writes_and_checks_the_dashboards(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(grafana_app, ["dashboards", "--check", "--dir", str(tmp_path)]
                         ).exit_code == 1  # nothing written yet
    assert runner.invoke(grafana_app, ["dashboards", "--dir", str(tmp_path)]).exit_code == 0
    assert sorted(p.name for p in tmp_path.glob("*.json")) == sorted(build_dashboards())
    assert runner.invoke(grafana_app, ["dashboards", "--check", "--dir", str(tmp_path)]
                         ).exit_code == 0
    (tmp_path / "municipality.json").write_text("{}")
    result = runner.invoke(grafana_app, ["dashboards", "--check", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "municipality.json" in result.output


def test_rendering_is_stable(tmp_path: Path) -> None:
    first = [p.read_text() for p in write_dashboards(tmp_path)]
    assert first == [p.read_text() for p in write_dashboards(tmp_path)]
    assert all(text.endswith("}\n") for text in first)


def test_dashboards_have_unique_uids_and_panel_ids(dashboards: dict[str, Json]) -> None:
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids) and all(len(uid) <= 40 for uid in uids)
    for name, dashboard in dashboards.items():
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(set(ids)) == len(ids), name
        assert dashboard["editable"] is False and "kommunepuls" in dashboard["tags"]


def test_panels_sit_on_the_grid_without_overlapping(dashboards: dict[str, Json]) -> None:
    for name, dashboard in dashboards.items():
        taken: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, (name, panel["title"])
            cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                     for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not cells & taken, (name, panel["title"])
            taken |= cells


def test_panels_read_only_the_provisioned_data_sources(dashboards: dict[str, Json]) -> None:
    provisioned = {}
    for path in (PROVISIONING / "datasources").glob("*.yml"):
        for source in yaml.safe_load(path.read_text())["datasources"]:
            provisioned[source["uid"]] = source["type"]
    assert provisioned == {PROMETHEUS["uid"]: PROMETHEUS["type"], API["uid"]: API["type"]}
    for dashboard in dashboards.values():
        for panel, target in targets(dashboard):
            assert target["datasource"] in (PROMETHEUS, API), panel["title"]
            assert panel["datasource"] == target["datasource"], panel["title"]


def test_file_provisioning_loads_this_directory() -> None:
    providers = yaml.safe_load((PROVISIONING / "dashboards/kommunepuls.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/etc/grafana/dashboards"


def test_every_indicator_of_the_catalogue_has_its_panels(dashboards: dict[str, Json]) -> None:
    national = {p["title"] for p in dashboards["national-overview.json"]["panels"]}
    local = {p["title"] for p in dashboards["municipality.json"]["panels"]}
    for series in calendar_series():
        for suffix in ("ranking (lowest first)", "distribution across municipalities",
                       "national trend (live)", "by month"):
            assert f"{series.title}: {suffix}" in national
        for suffix in ("live vs target", "by month", "strata"):
            assert f"{series.title}: {suffix}" in local
    for series in curve_series():
        assert f"{series.title}: cohort curve" in local
    shown = {s.id for s in calendar_series()} | {s.id for s in curve_series()}
    assert shown == {d.id for d in CATALOGUE}


def test_targets_of_the_catalogue_are_the_panels_thresholds(dashboards: dict[str, Json]) -> None:
    for series in calendar_series():
        panel = next(p for p in dashboards["national-overview.json"]["panels"]
                     if p["title"] == f"{series.title}: national trend (live)")
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        if series.target is None:
            assert len(steps) == 1
        else:
            assert steps[1]["value"] == series.target == pytest.approx(0.40)


def test_the_municipality_variable_lists_the_98_municipalities(dashboards: dict[str, Json]) -> None:
    (variable,) = dashboards["municipality.json"]["templating"]["list"]
    assert variable["name"] == "municipality"
    values = [option["value"] for option in variable["options"]]
    assert values == sorted(municipalities()) and len(values) == 98
    assert variable["current"]["value"] == "851"
    pairs = dict(reversed(item.split(" : ")) for item in variable["query"].split(","))
    assert pairs["851"] == "Aalborg (851)"
    uses = [t.get("expr", "") + str(t.get("url_options", "")) for _, t in
            targets(dashboards["municipality.json"])]
    assert sum("$municipality" in use for use in uses) > 20


def _field(spec: Json, schema: Json, selector: str) -> Json | None:
    """The schema a (dotted) Infinity selector reaches from `schema`, None if it reaches
    nothing: the root selector "" is the response itself, a list selects its items, and a
    union (e.g. a route answering one of two models) any of its alternatives."""
    if "$ref" in schema:
        return _field(spec, spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]],
                      selector)
    if "anyOf" in schema:
        found = [_field(spec, s, selector) for s in schema["anyOf"] if s.get("type") != "null"]
        return next((f for f in found if f is not None), None)
    if not selector:
        return _field(spec, schema["items"], "") if schema.get("type") == "array" else schema
    part, _, rest = selector.partition(".")
    properties = schema.get("properties")
    if properties is not None:
        return _field(spec, properties[part], rest) if part in properties else None
    if schema.get("type") == "object":  # free-form (dict[str, ...]): any key
        return _field(spec, schema.get("additionalProperties", {}), rest)
    return None


def test_api_queries_are_real_gateway_routes_and_fields(tmp_path: Path,
                                                        dashboards: dict[str, Json]) -> None:
    from services.gateway.app import create_app

    spec = create_app(offline_settings(tmp_path)).openapi()
    routes = {re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"): operation["get"]
              for path, operation in spec["paths"].items() if "get" in operation}
    ids = {d.id for d in CATALOGUE}
    checked = 0
    for dashboard in dashboards.values():
        for panel, target in targets(dashboard):
            if target["datasource"] != API:
                continue
            path = target["url"]
            (operation,) = [op for pattern, op in routes.items() if pattern.match(path)]
            accepted = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            params = {p["key"] for p in target["url_options"]["params"]}
            assert params <= accepted, (panel["title"], params - accepted)
            kind, name = path.strip("/").split("/")[1:3]
            assert name in (ids if kind == "indicators" else experiment_registry()), path
            # The fields the panel reads exist in the route's documented response.
            response = operation["responses"]["200"]["content"]["application/json"]["schema"]
            rows = _field(spec, response, target["root_selector"])
            assert rows is not None, (path, target["root_selector"])
            for column in target["columns"]:
                assert _field(spec, rows, column["selector"]) is not None, (
                    path, target["root_selector"], column["selector"])
            checked += 1
    assert checked >= (len(calendar_series()) * 3 + len(curve_series()) * 2
                       + len(experiment_registry()) * 4)


def test_every_experiment_has_its_dashboard(dashboards: dict[str, Json]) -> None:
    for entry in experiment_registry().values():
        dashboard = dashboards[f"experiment-{entry.id}.json"]
        urls = {t["url"] for _, t in targets(dashboard)}
        base = f"/v1/experiments/{entry.id}"
        assert {base, f"{base}/comparison"} <= urls, entry.id
        assert (f"{base}/followup" in urls) == bool(entry.followups), entry.id
        assert not any(url.endswith("/overdue") for url in urls)  # citizens: never on Grafana
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        indicator = variables["indicator"]
        assert [o["value"] for o in indicator["options"]] == list(comparable(entry))
        comparison = variables["comparison"]["query"].split(",")
        assert comparison and not set(comparison) & set(entry.municipalities), entry.id
        if entry.comparison.municipalities:
            assert comparison == list(entry.comparison.municipalities)
    assert len([n for n in dashboards if n.startswith("experiment-")]) == len(
        experiment_registry())


def test_render_is_json_with_sorted_keys(dashboards: dict[str, Json]) -> None:
    import json

    for dashboard in dashboards.values():
        assert json.loads(render(dashboard)) == dashboard


def test_operate_commands_are_real_cli_commands() -> None:
    """Every `kommunepuls ...` line in docs/OPERATE.md's code blocks parses with the CLI."""
    import shlex

    import typer.main

    from kommunepuls.cli import app

    root = typer.main.get_command(app)
    if root.get_command(root.context_class(root), "grafana") is None:  # type: ignore[attr-defined]
        # Until kommunepuls/cli.py registers the sub-app.
        root.add_command(typer.main.get_command(grafana_app), "grafana")  # type: ignore[attr-defined]
    text = (REPO_ROOT / "docs" / "OPERATE.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    # A command starts its line, or follows `--` (kubectl exec ... -- kommunepuls ...).
    found = (re.search(r"(?:^|\s--\s)kommunepuls\s+(.*)$", line.strip())
             for block in blocks for line in block.splitlines())
    commands = [match[1].split("#")[0] for match in found if match]
    assert len(commands) >= 6
    for command in commands:
        args = [{"N": "0", "T": "shadow-case-events"}.get(a, a) for a in shlex.split(command)]
        group, path = root, ["kommunepuls"]
        while hasattr(group, "commands"):
            name = args.pop(0)
            sub = group.get_command(group.context_class(group), name)
            assert sub is not None, f"docs/OPERATE.md: no command `{' '.join([*path, name])}`"
            group, path = sub, [*path, name]
        group.make_context(" ".join(path), args)  # raises on unknown options
