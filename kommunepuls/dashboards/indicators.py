"""The indicator dashboards: the national overview and the municipality drill-down.

Live figures come from Prometheus (the gateway's indicator families: each indicator's
latest period, suppressed as for every role but national). Figures by month and the
cohort curve come from the gateway's API, which keeps every period and applies the same
suppression for the token Grafana is given.
"""

from __future__ import annotations

from kommunepuls.dashboards import panels as p
from kommunepuls.dashboards.series import (
    COUNTRY,
    DENOMINATOR,
    NUMERATOR,
    TARGET_MET,
    VALUE,
    VOLUME_FILTERS,
    Series,
    calendar_series,
    curve_series,
    municipality_names,
    pooled_by_population_band,
    pooled_by_volume_band,
)
from kommunepuls.reference import POPULATION_BANDS, municipalities

SHARE = "percentunit"
# API columns are named plainly; Grafana puts the chosen municipality's name on the field,
# since dashboard variables are interpolated in display names.
LOCAL = "municipality"
LOCAL_NAME = [p.override(LOCAL, displayName="${municipality:text}")]
LIVE_NOTE = ("Live: the indicator's latest period (the current month once anyone counts in "
             "it), as the gateway exports it. Suppressed municipalities (a count of 1-4) "
             "have no sample and are left out.")
DEFAULT_MUNICIPALITY = "851"  # Aalborg, the domain's running example


def _all_indicators_table() -> p.Panel:
    """One line per municipality, one column per indicator (and group): the criterion per
    municipality next to everything else the catalogue defines."""
    all_series = calendar_series()
    # `sum by (municipality)` leaves only the municipality label, so `merge` joins the
    # queries' rows on it.
    targets = [p.prom(f"sum by (municipality) ({VALUE}{series.selector()})", instant=True,
                      table=True) for series in all_series]
    # An instant table query's value column is "Value #<refId>".
    renames = {f"Value #{chr(ord('A') + i)}": series.title for i, series in enumerate(all_series)}
    overrides = [p.override("municipality", mappings=[p.value_names(municipality_names())])]
    overrides += [p.override(series.title, thresholds=p.share_thresholds(series.target),
                             **{"custom.cellOptions": {"type": "color-background",
                                                       "mode": "basic"}})
                  for series in all_series if series.target is not None]
    return p.table(
        "Every indicator per municipality", targets, width=24, height=20,
        description="Shares in each indicator's latest period; a cell with a target is red "
                    f"below it and green from it. {LIVE_NOTE}",
        config=p.field_config(SHARE, decimals=1, overrides=overrides),
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True},
                                           "renameByName": renames}},
        ],
        sort_by=all_series[0].title)


def _ranking(series: Series) -> p.Panel:
    return p.bargauge(
        f"{series.title}: ranking (lowest first)",
        [p.prom(f"sort({VALUE}{series.selector()})", "{{municipality}}", instant=True)],
        unit=SHARE, minimum=0, maximum=1, steps=p.share_thresholds(series.target),
        width=8, height=12, description=f"Every shown municipality by its share. {LIVE_NOTE}")


def _spread(series: Series) -> list[p.Panel]:
    values = f"{VALUE}{series.selector()}"
    quartiles = [("min", f"min({values})"), ("Q1", f"quantile(0.25, {values})"),
                 ("median", f"quantile(0.5, {values})"), ("Q3", f"quantile(0.75, {values})"),
                 ("max", f"max({values})")]
    return [
        p.histogram(f"{series.title}: distribution across municipalities",
                    [p.prom(values, "{{municipality}}", instant=True)], unit=SHARE,
                    bucket_size=0.05, width=8, height=12,
                    description=f"How many municipalities have each share (5-point bins). "
                                f"{LIVE_NOTE}"),
        p.bargauge(f"{series.title}: min / Q1 / median / Q3 / max",
                   [p.prom(expr, name, instant=True) for name, expr in quartiles],
                   unit=SHARE, minimum=0, maximum=1, steps=p.share_thresholds(series.target),
                   width=8, height=12,
                   description="The spread of municipal shares (Prometheus quantiles, "
                                        "linear interpolation). The national share is pooled, "
                                        "not the median."),
    ]


def _national_trend(series: Series) -> p.Panel:
    targets = [p.prom(f"{VALUE}{series.selector(COUNTRY)}", "Denmark")]
    if series.target is not None:
        targets.append(p.prom(
            f"count({TARGET_MET}{series.selector()} == 1) / count({TARGET_MET}{series.selector()})",
            "share of shown municipalities meeting the target"))
    return p.timeseries(f"{series.title}: national trend (live)", targets, unit=SHARE,
                        target=series.target, minimum=0, maximum=1, width=12,
                        description="The country's pooled share over time (the latest period "
                                    "as it was at each moment; Prometheus keeps weeks). For "
                                    "months and years, see the series by month.")


def _monthly(series: Series, *, municipality: str | None) -> p.Panel:
    """The indicator by month from the gateway API; with `municipality`, next to the country."""
    columns = [("period", "period", "string"), ("value", "Denmark", "number")]
    targets = [p.api(f"/v1/indicators/{series.id}/series", {"group": str(series.group)},
                     "values", columns)]
    transformations = None
    if municipality is not None:
        targets.insert(0, p.api(f"/v1/indicators/{series.id}/series",
                                {"group": str(series.group), "municipality": municipality},
                                "values", [("period", "period", "string"),
                                           ("value", LOCAL, "number")]))
        transformations = [{"id": "joinByField", "options": {"byField": "period",
                                                              "mode": "outer"}}]
    return p.barchart(f"{series.title}: by month", targets, x_field="period", unit=SHARE,
                      target=series.target, width=12, transformations=transformations,
                      overrides=LOCAL_NAME if municipality is not None else None,
                      description=f"{series.describe()}\n\nEvery period the read models hold, "
                                  "from the gateway API (suppressed values are empty).")


def _headline() -> list[p.Panel]:
    out = []
    for series in calendar_series():
        if series.target is None:
            continue
        out += [
            p.stat(f"Below target: {series.title}",
                   [p.prom(f"count({TARGET_MET}{series.selector()} == 0) or vector(0)",
                           "municipalities")],
                   steps=p.thresholds((None, p.GREEN), (5, p.ORANGE), (10, p.RED)),
                   description="Shown municipalities missing the target in the latest period "
                               "(the alert KommunepulsCriterionBelowTarget fires per "
                               "municipality)."),
            p.stat(f"Denmark: {series.title}",
                   [p.prom(f"{VALUE}{series.selector(COUNTRY)}", "Denmark")], unit=SHARE,
                   decimals=1, steps=p.share_thresholds(series.target)),
        ]
    out += [
        p.stat("Municipalities shown",
               [p.prom(f'count(count by (municipality) ({VALUE}{{municipality!="{COUNTRY}"}}))',
                       "municipalities")],
               description=f"Of {len(municipalities())}; the others are suppressed or have "
                           "no data yet."),
        p.stat("Pipeline lag", [p.prom("max(kommunepuls_pipeline_lag_seconds)", "lag")],
               unit="s", steps=p.thresholds((None, p.GREEN), (60, p.ORANGE), (300, p.RED)),
               description="How long the oldest event not yet in the read models has waited."),
    ]
    return out


def national_overview() -> p.Json:
    layout = p.Layout().add(p.row("Headline"), *_headline(), _all_indicators_table())
    for series in calendar_series():
        layout.add(p.row(series.title), _ranking(series), *_spread(series),
                   _national_trend(series), _monthly(series, municipality=None))
    return p.dashboard(
        "kommunepuls-national", "Kommunepuls — national overview",
        "Every municipality on every indicator of the catalogue: the criterion per "
        "municipality, ranking, distribution and the national trend.", layout)


# --- municipality drill-down -----------------------------------------------------------------

def _municipality_headline() -> list[p.Panel]:
    out = []
    for series in calendar_series():
        if series.target is None:
            continue
        out += [
            p.stat(f"{series.title}", [p.prom(f"{VALUE}{series.selector('$municipality')}",
                                              "${municipality:text}")],
                   unit=SHARE, decimals=1, steps=p.share_thresholds(series.target),
                   color_mode="background", description=series.describe()),
            p.stat("Numerator / denominator",
                   [p.prom(f"{NUMERATOR}{series.selector('$municipality')}", "numerator"),
                    p.prom(f"{DENOMINATOR}{series.selector('$municipality')}", "denominator")],
                   description="Citizens, latest period. Empty when suppressed (1-4)."),
            p.stat("Denmark", [p.prom(f"{VALUE}{series.selector(COUNTRY)}", "Denmark")],
                   unit=SHARE, decimals=1, steps=p.share_thresholds(series.target)),
            p.stat("Rank (1 = highest share)", [p.prom(
                f"count({VALUE}{series.selector()} >= scalar({VALUE}"
                f"{series.selector('$municipality')}))", "rank")],
                steps=p.thresholds((None, p.BLUE)),
                description="Among the municipalities Prometheus shows (not suppressed)."),
        ]
    return out


def _live_vs_target(series: Series) -> p.Panel:
    return p.timeseries(
        f"{series.title}: live vs target",
        [p.prom(f"{VALUE}{series.selector('$municipality')}", "${municipality:text}"),
         p.prom(f"{VALUE}{series.selector(COUNTRY)}", "Denmark")],
        unit=SHARE, target=series.target, minimum=0, maximum=1,
        description=f"{series.describe()}\n\n{LIVE_NOTE}")


def _counts(series: Series) -> p.Panel:
    return p.timeseries(
        f"{series.title}: citizens counted (live)",
        [p.prom(f"{DENOMINATOR}{series.selector('$municipality')}", "denominator"),
         p.prom(f"{NUMERATOR}{series.selector('$municipality')}", "numerator")],
        minimum=0, description="Numerator and denominator of the latest period; gaps are "
                               "suppressed counts (1-4).")


def _strata(series: Series) -> p.Panel:
    targets = [p.prom(f"{VALUE}{series.selector('$municipality')}", "${municipality:text}",
                      instant=True),
               p.prom(f"{VALUE}{series.selector(COUNTRY)}", "Denmark", instant=True)]
    targets += [p.prom(pooled_by_population_band(series, band), f"{band} inhabitants",
                       instant=True) for band in POPULATION_BANDS]
    targets += [p.prom(pooled_by_volume_band(series, band), f"group 1 volume {band}",
                       instant=True) for band in VOLUME_FILTERS]
    return p.bargauge(
        f"{series.title}: strata", targets, unit=SHARE, minimum=0, maximum=1,
        steps=p.share_thresholds(series.target),
        description="The municipality next to the country and the strata of seeds/004 Table "
                    "4-2: population band (2019) and group-1 volume (citizens ever visited to "
                    "group 1). Strata are pooled here from the municipalities Prometheus "
                    "shows (suppressed ones are missing); the API's `stratum=` pools all.")


def _curve(series: Series) -> p.Panel:
    path = f"/v1/indicators/{series.id}/values"
    return p.barchart(
        f"{series.title}: cohort curve",
        [p.api(path, {"municipality": "$municipality", "group": str(series.group)}, "points",
               [("period", "month", "string"), ("value", LOCAL, "number")]),
         p.api(path, {"group": str(series.group)}, "points",
               [("period", "month", "string"), ("value", "Denmark", "number")])],
        x_field="month", unit=SHARE,
        overrides=LOCAL_NAME,
        transformations=[{"id": "joinByField", "options": {"byField": "month",
                                                            "mode": "outer"}}],
        description=f"{series.describe()}\n\nMonths since visitation (m01 = the visitation "
                    "month), from the gateway API.")


def municipality_drilldown() -> p.Json:
    layout = p.Layout().add(p.row("${municipality:text}"), *_municipality_headline())
    for series in calendar_series():
        layout.add(p.row(series.title), _live_vs_target(series),
                   _monthly(series, municipality="$municipality"), _strata(series),
                   _counts(series))
    layout.add(p.row("Cohort curves"), *(_curve(series) for series in curve_series()))
    names = municipality_names()
    variable = p.custom_variable(
        "municipality", "Municipality", names, current=DEFAULT_MUNICIPALITY,
        description="Kommunekode; the list is the 98 municipalities of the reference data.")
    return p.dashboard(
        "kommunepuls-municipality", "Kommunepuls — municipality",
        "One municipality: each indicator live and by month against its target, next to "
        "the country and its strata, and the cohort curves.", layout, variables=[variable])
