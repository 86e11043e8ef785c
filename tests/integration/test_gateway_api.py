"""The monitoring API on read models filled by hand: every number below is worked out in
the comments from the rows inserted by `fill`, and the suppression boundaries 4 and 5 sit
in the data (Læsø's numerator 4, Thisted's denominator 4, Fanø's 5 / 5)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.domain.evaluation import Cell
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.facts import pack
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import migrate
from services.gateway.app import create_app
from tests.conftest import TEST_JWT_SECRET, make_settings

VF, EVER, CURVE = "fsm_virksomhedsforloeb", "fsm_virksomhedsforloeb_ever", \
    "fsm_virksomhedsforloeb_curve"
HEAD = 30
# (indicator, municipality, period, group) -> per-partition (numerator, denominator)
COUNTS: dict[tuple[str, str, str, int], list[tuple[int, int]]] = {
    (VF, "851", "2019-04", 1): [(20, 80)],           # 25.0 %
    (VF, "851", "2019-05", 1): [(30, 90)],           # 33.3 %
    (VF, "851", "2019-06", 1): [(30, 60), (13, 40)],  # 43 / 100 = 43.0 %, met
    (VF, "101", "2019-06", 1): [(100, 300), (50, 200)],  # 150 / 500 = 30.0 %
    (VF, "825", "2019-06", 1): [(4, 10)],            # Læsø, numerator 4: suppressed
    (VF, "563", "2019-06", 1): [(5, 5)],             # Fanø, 5 / 5: shown, 100 %
    (VF, "787", "2019-06", 1): [(2, 4)],             # Thisted, denominator 4: suppressed
    (VF, "151", "2019-06", 1): [(0, 12)],            # Ballerup, zero is shown
    (VF, "461", "2019-06", 1): [(6, 15)],            # 40.0 %, exactly the target: met
    # Group-1 volumes (citizens ever visited) for the volume bands in 2019-06.
    (EVER, "851", "2019-06", 1): [(300, 400)], (EVER, "101", "2019-06", 1): [(700, 900)],
    (EVER, "825", "2019-06", 1): [(10, 12)], (EVER, "563", "2019-06", 1): [(6, 8)],
    (EVER, "787", "2019-06", 1): [(5, 6)], (EVER, "151", "2019-06", 1): [(40, 50)],
    (EVER, "461", "2019-06", 1): [(100, 150)],
    (CURVE, "851", "m01", 1): [(3, 20)],   # 15.0 %
    (CURVE, "851", "m02", 1): [(8, 20)],   # 40.0 %
    (CURVE, "851", "m03", 1): [(2, 19)],   # numerator 2: suppressed; 10.5 % raw
    (CURVE, "851", "m01", 2): [(1, 6)],
}
# (municipality, numerator, denominator, events_through, recorded_at) for VF 2019-06
REVISIONS = [("851", 20, 50, 10, "2019-07-01T10:00:00Z"), ("101", 150, 500, 25,
             "2019-07-02T10:00:00Z"), ("825", 4, 10, 27, "2019-07-03T10:00:00Z"),
             ("851", 40, 90, 20, "2019-07-05T10:00:00Z"),
             ("851", 43, 100, 30, "2019-07-10T10:00:00Z")]


async def fill(settings: Settings) -> None:
    conn = await connect(settings)
    try:
        await migrate(conn, settings.database_schema)
        rows = [(i, m, p, g, part, n, d, HEAD) for (i, m, p, g), parts in COUNTS.items()
                for part, (n, d) in enumerate(parts)]
        await conn.executemany(
            """INSERT INTO indicator_counts VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                   '2019-07-15T08:00:00Z')""", rows)
        await conn.executemany(
            """INSERT INTO indicator_revisions (indicator, municipality, period, grp, numerator,
                   denominator, events_through, recorded_at)
               VALUES ('fsm_virksomhedsforloeb', $1, '2019-06', 1, $2, $3, $4, $5::timestamptz)""",
            [(m, n, d, t, datetime.fromisoformat(at))
             for m, n, d, t, at in REVISIONS])
        await conn.execute("UPDATE event_store_head SET position = $1", HEAD)
        await conn.executemany("INSERT INTO checkpoints (name, position) VALUES ($1, $2)",
                               [(f"metrics:p{p}", HEAD) for p in range(4)])
        # Worklist of 851, 2019-06: citizen a counts in the denominator only, b in both.
        denominator, numerator = (pack(Cell(VF, "851", "2019-06", 1, part))
                                  for part in ("denominator", "numerator"))
        await conn.executemany(
            "INSERT INTO citizen_contributions VALUES (0, $1, 1, '2019-07-15', $2)",
            [("citizen-a", [denominator]), ("citizen-b", [denominator, numerator])])
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def gateway_settings(tmp_path_factory: pytest.TempPathFactory,
                     postgres: EmbeddedPostgres) -> Settings:
    settings = make_settings(Path(tmp_path_factory.mktemp("gateway")),
                             database_url=postgres.url(), today="2019-07-15")
    asyncio.run(fill(settings))
    return settings


@pytest.fixture(scope="module")
def client(gateway_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(gateway_settings, cache_seconds=0)) as test_client:
        yield test_client


def auth(role: Role, *municipalities: str, subject: str = "tester") -> dict[str, str]:
    token = issue_token(TEST_JWT_SECRET.encode(), subject=subject, role=role,
                        municipalities=list(municipalities))
    return {"Authorization": f"Bearer {token}"}


NATIONAL = auth(Role.national)
AALBORG = auth(Role.municipality, "851")


def get(client: TestClient, path: str, headers: dict[str, str] = NATIONAL, **params: object):
    return client.get(path, params=params, headers=headers)


def test_catalogue_states_every_definition_in_words(client: TestClient) -> None:
    body = get(client, "/v1/indicators").json()
    vf = next(i for i in body["indicators"] if i["id"] == VF)
    assert vf["target"] == 0.4 and vf["window_months"] == 3 and vf["groups"] == [1]
    assert vf["title"]["da"].startswith("Gruppe 1") and vf["title"]["en"]
    assert vf["source"].startswith("seeds/004") and body["rule_set_version"]
    assert len(body["indicators"]) == 6
    assert get(client, f"/v1/indicators/{CURVE}").json()["periods"].startswith("m01..m29")


def test_one_municipality_pools_its_partitions(client: TestClient) -> None:
    body = get(client, f"/v1/indicators/{VF}/values", municipality="851",
               period="2019-06").json()
    assert body == {
        "indicator": VF, "municipality": "851", "period": "2019-06", "stratum": None,
        "group": 1, "numerator": 43, "denominator": 100, "value": 0.43, "value_pct": 43.0,
        "target": 0.4, "met": True, "suppressed": False, "events_through": HEAD,
        "computed_at": "2019-07-15T08:00:00Z", "as_of": None,
        "rule_set_version": "fsm-2017.08-r1"}


def test_national_is_the_sum_of_raw_counts_for_every_role(client: TestClient) -> None:
    # 43+150+4+5+2+0+6 = 210 over 100+500+10+5+4+12+15 = 646 -> 32.507 % -> 32.5 %:
    # Læsø's and Thisted's small counts are in, though each is suppressed on its own.
    for headers in (NATIONAL, AALBORG):
        body = get(client, f"/v1/indicators/{VF}/values", headers, municipality="all",
                   period="2019-06").json()
        assert (body["numerator"], body["denominator"], body["value_pct"]) == (210, 646, 32.5)
        assert body["met"] is False and body["municipality"] == "all"


@pytest.mark.parametrize(("stratum", "national", "suppressed_for_municipality"), [
    ("population:0-25k", (9, 15, 60.0), False),      # Læsø 4/10 + Fanø 5/5
    ("population:25-50k", (2, 16, 12.5), True),      # Thisted 2/4 + Ballerup 0/12: n = 2
    ("population:50k+", (199, 615, 32.4), False),    # Aalborg + København + Odense
    ("volume:<100", (11, 31, 35.5), False),          # volumes 12, 8, 6, 50
    ("volume:100-500", (49, 115, 42.6), False),      # Aalborg 400, Odense 150
    ("volume:>500", (150, 500, 30.0), False),        # København 900
])
def test_strata_pool_their_municipalities(client: TestClient, stratum: str,
                                          national: tuple[int, int, float],
                                          suppressed_for_municipality: bool) -> None:
    path = f"/v1/indicators/{VF}/values"
    raw = get(client, path, stratum=stratum, period="2019-06").json()
    assert (raw["numerator"], raw["denominator"], raw["value_pct"]) == national
    assert raw["stratum"] == stratum
    shown = get(client, path, AALBORG, stratum=stratum, period="2019-06").json()
    assert shown["suppressed"] is suppressed_for_municipality


@pytest.mark.parametrize(("municipality", "counts", "suppressed"), [
    ("825", (4, 10), True),     # numerator 4: below the threshold
    ("787", (2, 4), True),      # denominator 4
    ("563", (5, 5), False),     # 5 / 5: at the threshold, shown
    ("151", (0, 12), False),    # zero is not a small count
    ("147", (0, 0), False),     # no citizens: 0 / 0, no value, nothing to hide
])
def test_suppression_at_the_boundaries_4_and_5(client: TestClient, municipality: str,
                                               counts: tuple[int, int],
                                               suppressed: bool) -> None:
    path = f"/v1/indicators/{VF}/values"
    raw = get(client, path, municipality=municipality, period="2019-06").json()
    assert (raw["numerator"], raw["denominator"], raw["suppressed"]) == (*counts, False)
    shown = get(client, path, AALBORG, municipality=municipality, period="2019-06").json()
    assert shown["suppressed"] is suppressed
    if suppressed:
        assert [shown[k] for k in ("numerator", "denominator", "value", "value_pct",
                                   "met")] == [None] * 5
    else:
        assert (shown["numerator"], shown["denominator"]) == counts


def test_series_fills_every_month_and_defaults_to_what_is_stored(client: TestClient) -> None:
    path = f"/v1/indicators/{VF}/series"
    body = get(client, path, AALBORG, municipality="851", **{"from": "2019-03",
                                                             "to": "2019-06"}).json()
    assert [(v["period"], v["value_pct"]) for v in body["values"]] == [
        ("2019-03", None), ("2019-04", 25.0), ("2019-05", 33.3), ("2019-06", 43.0)]
    default = get(client, path, municipality="851").json()
    assert [v["period"] for v in default["values"]] == ["2019-04", "2019-05", "2019-06"]


def test_ranking_sorts_ties_and_summarises_what_the_role_sees(client: TestClient) -> None:
    path = f"/v1/indicators/{VF}/ranking"
    raw = get(client, path, period="2019-06").json()
    top = [(e["municipality"], e["rank"]) for e in raw["entries"][:7]]
    # 563 1.0, 787 0.5, 851 0.43, 461 0.4 = 825 0.4 (tied), 101 0.3, 151 0.0
    assert top == [("563", 1), ("787", 2), ("851", 3), ("461", 4), ("825", 4), ("101", 6),
                   ("151", 7)]
    assert len(raw["entries"]) == 98 and raw["entries"][7]["rank"] is None
    # Type-7 quantiles of [0, .3, .4, .4, .43, .5, 1]: q1 = .3 + .5 * .1, q3 = .43 + .5 * .07
    assert raw["distribution"] == pytest.approx(
        {"n": 7, "min": 0.0, "q1": 0.35, "median": 0.4, "q3": 0.465, "max": 1.0})
    assert raw["national"]["numerator"] == 210 and raw["period"] == "2019-06"
    shown = get(client, path, AALBORG).json()  # default period: the latest, 2019-06
    assert [(e["municipality"], e["rank"]) for e in shown["entries"][:5]] == [
        ("563", 1), ("851", 2), ("461", 3), ("101", 4), ("151", 5)]
    hidden = {e["municipality"]: e for e in shown["entries"] if e["suppressed"]}
    assert set(hidden) == {"825", "787"} and hidden["825"]["rank"] is None
    # Without the two suppressed shares: [0, .3, .4, .43, 1].
    assert shown["distribution"] == pytest.approx(
        {"n": 5, "min": 0.0, "q1": 0.3, "median": 0.4, "q3": 0.43, "max": 1.0})


def test_cohort_curve_has_29_points_suppressed_for_small_counts(client: TestClient) -> None:
    path = f"/v1/indicators/{CURVE}/values"
    raw = get(client, path, municipality="851", group=1).json()
    points = raw["points"]
    assert len(points) == 29 and points[0]["period"] == "m01"
    assert [(p["numerator"], p["denominator"], p["value_pct"]) for p in points[:4]] == [
        (3, 20, 15.0), (8, 20, 40.0), (2, 19, 10.5), (0, 0, None)]
    shown = get(client, path, AALBORG, municipality="851", group=1).json()["points"]
    assert shown[2]["suppressed"] is True and shown[2]["value"] is None
    group_2 = get(client, path, municipality="851", group=2).json()["points"]
    assert (group_2[0]["numerator"], group_2[0]["denominator"]) == (1, 6)
    one = get(client, path, municipality="851", period="m02").json()
    assert one["value_pct"] == 40.0 and one["target"] is None


def test_revisions_and_values_as_known_then(client: TestClient) -> None:
    body = get(client, f"/v1/indicators/{VF}/revisions", municipality="851",
               period="2019-06").json()
    assert [(r["numerator"], r["denominator"], r["events_through"])
            for r in body["revisions"]] == [(20, 50, 10), (40, 90, 20), (43, 100, 30)]
    path = f"/v1/indicators/{VF}/values"
    then = get(client, path, municipality="851", period="2019-06",
               as_of="2019-07-06T00:00:00Z").json()
    # 40 / 90 = 44.44 % -> 44.4 %, from the revision recorded on 5 July.
    assert (then["numerator"], then["denominator"], then["value_pct"]) == (40, 90, 44.4)
    assert then["events_through"] == 20 and then["as_of"] == "2019-07-06T00:00:00Z"
    country = get(client, path, period="2019-06", as_of="2019-07-06T00:00:00Z").json()
    # 851's 40/90 + 101's 150/500 + 825's 4/10 = 194 / 600 = 32.33 % -> 32.3 %.
    assert (country["numerator"], country["denominator"], country["value_pct"]) == \
        (194, 600, 32.3)
    before = get(client, path, municipality="851", period="2019-06",
                 as_of="2019-06-01T00:00:00").json()
    assert (before["numerator"], before["denominator"], before["value"]) == (0, 0, None)


def test_csv_for_values_series_and_ranking(client: TestClient) -> None:
    headers = {**NATIONAL, "Accept": "text/csv"}
    one = get(client, f"/v1/indicators/{VF}/values", headers, municipality="851",
              period="2019-06")
    assert one.headers["content-type"].startswith("text/csv")
    lines = one.text.splitlines()
    assert lines[0].startswith("indicator,municipality,period,stratum,group,numerator")
    assert lines[1].startswith("fsm_virksomhedsforloeb,851,2019-06,,1,43,100,0.43,43.0,0.4,"
                               "true,false,30,")
    series = get(client, f"/v1/indicators/{VF}/series", headers, municipality="851")
    assert len(series.text.splitlines()) == 4
    ranking = get(client, f"/v1/indicators/{VF}/ranking", headers, period="2019-06")
    rows = ranking.text.splitlines()
    assert rows[0] == ("rank,municipality,name,numerator,denominator,value,value_pct,met,"
                       "suppressed") and rows[1] == "1,563,Fanø,5,5,1.0,100.0,true,false"
    assert len(rows) == 99
    assert get(client, f"/v1/indicators/{VF}/values", NATIONAL, municipality="851"
               ).headers["content-type"] == "application/json"


@pytest.mark.parametrize(("path", "params", "status"), [
    ("/v1/indicators/nope/values", {}, 404),
    ("/v1/indicators/nope", {}, 404),
    (f"/v1/indicators/{VF}/values", {"period": "2019-13"}, 422),
    (f"/v1/indicators/{VF}/values", {"period": "m03"}, 422),
    (f"/v1/indicators/{CURVE}/values", {"period": "2019-06"}, 422),
    (f"/v1/indicators/{CURVE}/values", {"period": "m30"}, 422),
    (f"/v1/indicators/{VF}/values", {"municipality": "999"}, 422),
    (f"/v1/indicators/{VF}/values", {"municipality": "851", "stratum": "volume:<100"}, 422),
    (f"/v1/indicators/{VF}/values", {"stratum": "size:big"}, 422),
    (f"/v1/indicators/{VF}/values", {"group": 2}, 422),
    (f"/v1/indicators/{VF}/series", {"from": "2019-06", "to": "2019-01"}, 422),
    (f"/v1/indicators/{VF}/revisions", {"municipality": "851"}, 422),
    (f"/v1/indicators/{CURVE}/ranking", {}, 422),
    # A mistyped parameter must not quietly give the national figure.
    (f"/v1/indicators/{VF}/values", {"munisipality": "851"}, 422),
])
def test_errors_are_problems(client: TestClient, path: str, params: dict[str, object],
                             status: int) -> None:
    response = get(client, path, **params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_status_page_is_served_with_its_assets(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="current-value"' in page.text
    for asset in ("status.js", "charts.js", "status.css"):
        assert client.get(f"/static/{asset}").status_code == 200
