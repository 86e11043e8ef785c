"""Grafana dashboard JSON, built from plain dicts: panels, queries, variables and layout.

No SDK: the JSON Grafana stores is the artefact we commit and review, so we write exactly
that, with only the fields we mean (Grafana fills in its defaults when it loads a
dashboard). Two data sources, both by fixed uid (deploy/grafana/provisioning/datasources):
- `prometheus` — live figures and pipeline health, from the services' /metrics;
- `kommunepuls-api` — the gateway's /v1 API through the Infinity plugin, for what
  Prometheus does not hold: monthly series over years and the cohort curve (the gateway
  exports only each indicator's latest period, and Prometheus keeps weeks, not years).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

PROMETHEUS: Json = {"type": "prometheus", "uid": "prometheus"}
API: Json = {"type": "yesoreyeram-infinity-datasource", "uid": "kommunepuls-api"}

# Grafana 12.x writes this schema version; older ones are migrated on load.
SCHEMA_VERSION = 41
GRID_WIDTH = 24

GREEN, ORANGE, RED, BLUE = "green", "orange", "red", "blue"


# --- queries ---------------------------------------------------------------------------------

def prom(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> Json:
    """A PromQL query. Instant queries give one value per series (tables, rankings)."""
    target: Json = {"datasource": PROMETHEUS, "expr": expr, "legendFormat": legend or "__auto",
                    "range": not instant, "instant": instant}
    if table:
        target["format"] = "table"
    return target


def api(path: str, params: Mapping[str, str], root: str,
        columns: Sequence[tuple[str, str, str]]) -> Json:
    """A gateway API query (Infinity, JSON, backend parser): GET `path` with `params`,
    rows at `root`, `columns` as (JSON selector, display name, type)."""
    return {
        "datasource": API, "type": "json", "source": "url", "format": "table",
        "parser": "backend", "url": path,
        "url_options": {"method": "GET", "data": "",
                        "params": [{"key": k, "value": v} for k, v in params.items()]},
        "root_selector": root,
        "columns": [{"selector": s, "text": t, "type": kind} for s, t, kind in columns],
    }


# --- field configuration ---------------------------------------------------------------------

def thresholds(*steps: tuple[float | None, str]) -> Json:
    """Absolute thresholds: the first step's value is None (from minus infinity)."""
    return {"mode": "absolute", "steps": [{"color": color, "value": value}
                                          for value, color in steps]}


def share_thresholds(target: float | None) -> Json:
    """Red below the target, green at or above it; blue when there is no target."""
    if target is None:
        return thresholds((None, BLUE))
    return thresholds((None, RED), (target, GREEN))


def field_config(unit: str = "", *, minimum: float | None = None, maximum: float | None = None,
                 steps: Json | None = None, decimals: int | None = None,
                 custom: Json | None = None, mappings: list[Json] | None = None,
                 overrides: list[Json] | None = None) -> Json:
    defaults: Json = {}
    if unit:
        defaults["unit"] = unit
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if decimals is not None:
        defaults["decimals"] = decimals
    if steps is not None:
        defaults["thresholds"] = steps
    if custom:
        defaults["custom"] = custom
    if mappings:
        defaults["mappings"] = mappings
    return {"defaults": defaults, "overrides": overrides or []}


def value_names(names: Mapping[str, str]) -> Json:
    """A value mapping, e.g. kommunekode -> "Aalborg (851)"."""
    return {"type": "value", "options": {value: {"text": text, "index": i}
                                         for i, (value, text) in enumerate(names.items())}}


def override(field_name: str, **properties: Any) -> Json:
    return {"matcher": {"id": "byName", "options": field_name},
            "properties": [{"id": key, "value": value} for key, value in properties.items()]}


# --- panels ----------------------------------------------------------------------------------

@dataclass
class Panel:
    """A panel before layout: its size, and the JSON without id and position."""

    width: int
    height: int
    body: Json


def panel(kind: str, title: str, targets: Iterable[Json], *, width: int = 12, height: int = 8,
          description: str = "", config: Json | None = None, options: Json | None = None,
          transformations: list[Json] | None = None, datasource: Json | None = None) -> Panel:
    targets = list(targets)
    for index, target in enumerate(targets):
        target["refId"] = chr(ord("A") + index)
    source = datasource or (targets[0]["datasource"] if targets else PROMETHEUS)
    body: Json = {"type": kind, "title": title, "datasource": source, "targets": targets,
                  "fieldConfig": config or field_config(), "options": options or {}}
    if description:
        body["description"] = description
    if transformations:
        body["transformations"] = transformations
    return Panel(width, height, body)


def timeseries(title: str, targets: Iterable[Json], *, unit: str = "", target: float | None = None,
               limit: float | None = None, description: str = "", width: int = 12,
               height: int = 8, minimum: float | None = None, maximum: float | None = None,
               stack: bool = False) -> Panel:
    """A graph over time. `target`: a share to reach (red below, green from it); `limit`: a
    level not to pass (an alert's threshold). Either is drawn as a dashed line."""
    custom: Json = {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 10,
                    "showPoints": "never", "spanNulls": False}
    if target is not None:
        steps = share_thresholds(target)
    elif limit is not None:
        steps = thresholds((None, GREEN), (limit, RED))
    else:
        steps = thresholds((None, GREEN))
    if target is not None or limit is not None:
        # A line across the graph, not colours of the series.
        custom["thresholdsStyle"] = {"mode": "dashed"}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    return panel("timeseries", title, targets, width=width, height=height,
                 description=description,
                 config=field_config(unit, minimum=minimum, maximum=maximum, steps=steps,
                                     custom=custom),
                 options={"legend": {"displayMode": "list", "placement": "bottom",
                                     "showLegend": True},
                          "tooltip": {"mode": "multi", "sort": "desc"}})


def stat(title: str, targets: Iterable[Json], *, unit: str = "", steps: Json | None = None,
         description: str = "", width: int = 6, height: int = 4, decimals: int | None = None,
         color_mode: str = "value") -> Panel:
    return panel("stat", title, targets, width=width, height=height, description=description,
                 config=field_config(unit, steps=steps or thresholds((None, GREEN)),
                                     decimals=decimals),
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                            "values": False},
                          "colorMode": color_mode, "graphMode": "area", "justifyMode": "auto",
                          "textMode": "auto", "orientation": "auto"})


def bargauge(title: str, targets: Iterable[Json], *, unit: str = "", steps: Json | None = None,
             description: str = "", width: int = 12, height: int = 8,
             minimum: float | None = None, maximum: float | None = None) -> Panel:
    return panel("bargauge", title, targets, width=width, height=height,
                 description=description,
                 config=field_config(unit, minimum=minimum, maximum=maximum,
                                     steps=steps or thresholds((None, GREEN))),
                 options={"orientation": "horizontal", "displayMode": "gradient",
                          "showUnfilled": True, "valueMode": "color", "namePlacement": "left",
                          "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                            "values": False}})


def table(title: str, targets: Iterable[Json], *, description: str = "", width: int = 12,
          height: int = 10, config: Json | None = None, transformations: list[Json] | None = None,
          sort_by: str | None = None) -> Panel:
    options: Json = {"showHeader": True, "cellHeight": "sm",
                     "footer": {"show": False, "reducer": ["sum"], "fields": ""}}
    if sort_by:
        options["sortBy"] = [{"displayName": sort_by, "desc": False}]
    return panel("table", title, targets, width=width, height=height, description=description,
                 config=config, options=options, transformations=transformations)


def histogram(title: str, targets: Iterable[Json], *, unit: str = "", bucket_size: float,
              description: str = "", width: int = 12, height: int = 8) -> Panel:
    return panel("histogram", title, targets, width=width, height=height,
                 description=description,
                 config=field_config(unit, minimum=0, custom={"fillOpacity": 80, "lineWidth": 1}),
                 options={"bucketSize": bucket_size, "bucketOffset": 0, "combine": True,
                          "legend": {"displayMode": "list", "placement": "bottom",
                                     "showLegend": False}})


def barchart(title: str, targets: Iterable[Json], *, x_field: str, unit: str = "",
             target: float | None = None, description: str = "", width: int = 12,
             height: int = 8, transformations: list[Json] | None = None,
             overrides: list[Json] | None = None) -> Panel:
    custom: Json = {"fillOpacity": 80, "lineWidth": 1}
    if target is not None:
        custom["thresholdsStyle"] = {"mode": "dashed"}
    steps = share_thresholds(target) if target is not None else thresholds((None, GREEN))
    return panel("barchart", title, targets, width=width, height=height,
                 description=description,
                 config=field_config(unit, minimum=0, maximum=1 if unit == "percentunit" else None,
                                     steps=steps, custom=custom, overrides=overrides),
                 options={"xField": x_field, "orientation": "vertical", "showValue": "never",
                          "groupWidth": 0.8, "barWidth": 0.9, "xTickLabelRotation": -45,
                          "legend": {"displayMode": "list", "placement": "bottom",
                                     "showLegend": True},
                          "tooltip": {"mode": "multi", "sort": "none"}},
                 transformations=transformations)


def row(title: str) -> Panel:
    return Panel(GRID_WIDTH, 1, {"type": "row", "title": title, "collapsed": False,
                                 "panels": []})


# --- layout and dashboard --------------------------------------------------------------------

@dataclass
class Layout:
    """Places panels left to right, wrapping at the grid's width; a row starts a new line."""

    panels: list[Json] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def add(self, *items: Panel) -> Layout:
        for item in items:
            if item.body["type"] == "row" or self.x + item.width > GRID_WIDTH:
                self.newline()
            body = {"id": len(self.panels) + 1,
                    "gridPos": {"h": item.height, "w": item.width, "x": self.x, "y": self.y},
                    **item.body}
            self.panels.append(body)
            self.x += item.width
            self.line_height = max(self.line_height, item.height)
            if item.body["type"] == "row":
                self.newline()
        return self

    def newline(self) -> None:
        if self.x:
            self.y += self.line_height
        self.x, self.line_height = 0, 0


def custom_variable(name: str, label: str, options: Mapping[str, str], *, current: str,
                    description: str = "") -> Json:
    """A variable whose choices come from code (value -> text), not from a query, so it is
    complete even when a value has no data (a suppressed municipality has no samples)."""
    return {
        "type": "custom", "name": name, "label": label, "description": description,
        # Grafana's custom syntax: "text : value" pairs, comma separated.
        "query": ",".join(f"{text} : {value}" for value, text in options.items()),
        "current": {"text": options[current], "value": current, "selected": True},
        "options": [{"text": text, "value": value, "selected": value == current}
                    for value, text in options.items()],
        "multi": False, "includeAll": False, "hide": 0, "skipUrlSync": False,
    }


def dashboard(uid: str, title: str, description: str, layout: Layout, *,
              variables: Sequence[Json] = (), time_from: str = "now-7d",
              refresh: str = "1m") -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["kommunepuls"],
        "editable": False,  # generated: change kommunepuls/dashboards and commit the JSON
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": time_from, "to": "now"},
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "links": [{"type": "dashboards", "tags": ["kommunepuls"], "asDropdown": False,
                   "includeVars": True, "keepTime": True, "title": "Kommunepuls"}],
        "annotations": {"list": []},
        "templating": {"list": list(variables)},
        "panels": layout.panels,
    }
