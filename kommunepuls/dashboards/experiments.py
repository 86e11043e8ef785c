"""One dashboard per frikommune experiment, generated from the registry
(kommunepuls/experiments/registry.py): its status against the targets, whether the rules
were kept, the follow-up windows and the comparison with municipalities that did not run
it — every panel from the gateway's experiments API (services/gateway/experiments.py) via
the Infinity data source, suppressed as for the token Grafana is given.

The overdue list (/v1/experiments/{id}/overdue) shows citizens and is for a
municipality's own staff only, so it is deliberately not on a dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from kommunepuls.dashboards import panels as p
from kommunepuls.experiments.registry import Experiment, registry
from kommunepuls.experiments.series import comparable

DEFAULT_INDICATOR = "samtaler_per_citizen"
NOTE = ("Computed on request from the event store by the gateway's experiments API; counts "
        "of 1-4 are suppressed (empty) unless Grafana's token is national.")


def file_name(experiment_id: str) -> str:
    return f"experiment-{experiment_id}.json"


def comparison_default(entry: Experiment) -> list[str]:
    """The registry's comparison municipalities; where the seeds name none, the network's
    other municipalities (those in some experiment, but not in this one)."""
    if entry.comparison.municipalities:
        return list(entry.comparison.municipalities)
    network = {m for other in registry().values() for m in other.municipalities}
    return sorted(network - set(entry.municipalities))


def _path(entry: Experiment, tail: str = "") -> str:
    return f"/v1/experiments/{entry.id}{tail}"


def _status(entry: Experiment) -> list[p.Panel]:
    out = [
        p.table("Members and status", [p.api(_path(entry), {}, "", [
            ("status", "status", "string"), ("today", "today", "string"),
            ("members", "members", "number"),
            ("unmarked_eligible", "unmarked but eligible", "number")])],
            width=8, height=6,
            description="Members today (by marking or by rule, clipped to the experiment's "
                        "period); for marking experiments, citizens in the target groups who "
                        f"could have been marked but were not. {NOTE}"),
        p.table("Status vs targets", [p.api(_path(entry), {}, "targets", [
            ("id", "target", "string"), ("measure", "measure", "string"),
            ("value", "value", "number"), ("target", "goal", "number"),
            ("unit", "unit", "string"), ("met", "met", "boolean"),
            ("numerator", "numerator", "number"), ("denominator", "denominator", "number"),
            ("not_yet_due", "not yet due", "number")])],
            width=16, height=6,
            description="Each numeric target of the evaluation design (with its seed line in "
                        "the registry) and where the experiment stands; follow-up windows not "
                        f"yet elapsed are 'not yet due', never failures. {NOTE}"),
    ]
    if entry.rule_families:
        out.append(p.table("Rules kept: deadlines on time, per rule variant", [
            p.api(_path(entry), {}, "cadence", [
                ("family", "rule family", "string"), ("variant", "variant", "string"),
                ("on_time.value", "on time", "number"),
                ("on_time.numerator", "met on time", "number"),
                ("on_time.denominator", "due", "number"),
                ("overdue_citizens", "citizens overdue", "number")])],
            width=24, height=6,
            config=p.field_config(overrides=[p.override("on time", unit="percentunit")]),
            description="Deadlines due in the experiment's municipalities: ordinary rules "
                        "before or outside the experiment, the relaxed ones while it runs. "
                        f"{NOTE}"))
    return out


def _followup(entry: Experiment) -> list[p.Panel]:
    if not entry.followups:
        return []
    return [p.row("Follow-up"), p.table("Follow-up windows", [
        p.api(_path(entry, "/followup"), {}, "rows", [
            ("kind", "follow-up", "string"), ("months", "months", "number"),
            ("municipality", "municipality", "string"), ("cohort", "cohort", "string"),
            ("yes", "yes", "number"), ("no", "no", "number"),
            ("not_yet_due", "not yet due", "number"), ("share", "share", "number")])],
        width=24, height=10,
        config=p.field_config(overrides=[p.override("share", unit="percentunit")]),
        description="Per window (months after the start event), municipality and half-year "
                    "cohort: yes / no among the windows that have elapsed; a window not yet "
                    f"elapsed is censored (not yet due). {NOTE}")]


def _comparison(entry: Experiment) -> list[p.Panel]:
    params = {"indicator": "$indicator", "comparison": "$comparison"}
    path = _path(entry, "/comparison")
    return [
        p.row("Comparison: $indicator"),
        p.table("Before / after, difference-in-differences", [p.api(path, params, "", [
            ("indicator", "indicator", "string"), ("unit", "unit", "string"),
            ("trial_before.value", "trial before", "number"),
            ("trial_after.value", "trial after", "number"),
            ("comparison_before.value", "comparison before", "number"),
            ("comparison_after.value", "comparison after", "number"),
            ("did", "DiD", "number"), ("did_points", "DiD (points)", "number"),
            ("pre_trend_slope", "pre-trend slope", "number"),
            ("pre_trend_placebo", "pre-trend placebo", "number")])],
            width=24, height=5,
            description="The experiment's municipalities vs the comparison municipalities "
                        "(variable), before and after the start, from pooled counts (never "
                        "averaged shares); the pre-trend slope and placebo DiD check the "
                        f"parallel-trends assumption. {NOTE}"),
        p.barchart("Pre-trend: trial vs comparison by period", [p.api(path, params,
                                                                        "pre_trend", [
            ("period", "period", "string"), ("trial.value", "trial", "number"),
            ("comparison.value", "comparison", "number"), ("gap", "gap", "number")])],
            x_field="period", width=24,
            description="Before the start, per period: the two sides and their gap. A gap "
                        "that drifts makes the DiD suspect."),
    ]


def _variables(entry: Experiment) -> list[p.Json]:
    indicators = {i: i for i in comparable(entry)}
    default = DEFAULT_INDICATOR if DEFAULT_INDICATOR in indicators else next(iter(indicators))
    others = ",".join(comparison_default(entry))
    return [
        p.custom_variable("indicator", "Indicator", indicators, current=default,
                          description="An indicator the experiment can be compared on."),
        {"type": "textbox", "name": "comparison", "label": "Comparison municipalities",
         "description": "Kommunekoder, comma-separated; by default the registry's, or the "
                        "network's municipalities outside the experiment.",
         "query": others, "current": {"text": others, "value": others},
         "options": [{"text": others, "value": others, "selected": True}],
         "hide": 0, "skipUrlSync": False},
    ]


def experiment_dashboard(entry: Experiment) -> p.Json:
    municipalities = ", ".join(entry.municipalities)
    layout = p.Layout().add(p.row("Status"), *_status(entry), *_followup(entry),
                            *_comparison(entry))
    return p.dashboard(
        f"kp-experiment-{entry.id}"[:40], f"Kommunepuls — experiment: {entry.title.en}",
        f"{entry.title.en} ({entry.title.da}); {entry.start.on} – {entry.end.on}, "
        f"in {municipalities}. Generated from the experiment registry.", layout,
        variables=_variables(entry), time_from="now-30d")


def experiment_builders() -> dict[str, Callable[[], p.Json]]:
    """file name -> builder, one per registered experiment."""
    return {file_name(entry.id): partial(experiment_dashboard, entry)
            for entry in registry().values()}
