"""Who may read what, tried both ways for every role; the audited work list; /metrics.

Uses the hand-filled read models of test_gateway_api (its own schema: module fixtures)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from fastapi.testclient import TestClient

from kommunepuls.auth import Role
from tests.integration.test_gateway_api import (  # noqa: F401  (fixtures)
    CURVE,
    VF,
    auth,
    client,
    gateway_settings,
)

VALUES = f"/v1/indicators/{VF}/values?period=2019-06"
ENDPOINTS = {
    "catalogue": "/v1/indicators",
    "values_own": VALUES + "&municipality=851",
    "values_other": VALUES + "&municipality=101",
    "values_all": VALUES + "&municipality=all",
    "series_other": f"/v1/indicators/{VF}/series?municipality=101",
    "ranking": f"/v1/indicators/{VF}/ranking?period=2019-06",
    "curve_other": f"/v1/indicators/{CURVE}/values?municipality=101&group=1",
    "revisions_own": f"/v1/indicators/{VF}/revisions?municipality=851&period=2019-06",
    "revisions_other": f"/v1/indicators/{VF}/revisions?municipality=101&period=2019-06",
    "worklist_own": "/v1/municipalities/851/worklist?period=2019-06",
    "worklist_other": "/v1/municipalities/101/worklist?period=2019-06",
    "worklist_audit": "/v1/worklist-access",
    "status": "/v1/status",
    "metrics": "/metrics",
}
# Expected status per role; "own" is 851 for the municipality and fagsystem tokens.
ALLOWED = {
    "municipality": {"catalogue", "values_own", "values_other", "values_all", "series_other",
                     "ranking", "curve_other", "revisions_own", "worklist_own"},
    "national": {"catalogue", "values_own", "values_other", "values_all", "series_other",
                 "ranking", "curve_other", "revisions_own", "revisions_other",
                 "worklist_audit", "status", "metrics"},
    "ops": {"status", "metrics"},
    "fagsystem": set(),
}
TOKENS = {
    "municipality": auth(Role.municipality, "851"),
    "national": auth(Role.national),
    "ops": auth(Role.ops),
    "fagsystem": auth(Role.fagsystem, "851"),
}


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_every_role_against_every_endpoint(client: TestClient, role: str,  # noqa: F811
                                           endpoint: str) -> None:
    response = client.get(ENDPOINTS[endpoint], headers=TOKENS[role])
    expected = 200 if endpoint in ALLOWED[role] else 403
    assert response.status_code == expected, (role, endpoint, response.text)
    if expected == 403:
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_no_token_is_401_everywhere(client: TestClient, endpoint: str) -> None:  # noqa: F811
    response = client.get(ENDPOINTS[endpoint])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_municipality_sees_others_suppressed_like_its_own(client: TestClient  # noqa: F811
                                                            ) -> None:
    # Thisted (787, 2/4) is suppressed for Aalborg and for Thisted itself; national sees it.
    path = VALUES + "&municipality=787"
    for role in (auth(Role.municipality, "851"), auth(Role.municipality, "787")):
        assert client.get(path, headers=role).json()["suppressed"] is True
    assert client.get(path, headers=TOKENS["national"]).json()["numerator"] == 2


def test_own_revisions_are_suppressed_for_the_municipality(client: TestClient  # noqa: F811
                                                           ) -> None:
    path = f"/v1/indicators/{VF}/revisions?municipality=825&period=2019-06"
    own = client.get(path, headers=auth(Role.municipality, "825")).json()["revisions"]
    assert [(r["numerator"], r["suppressed"]) for r in own] == [(None, True)]
    raw = client.get(path, headers=TOKENS["national"]).json()["revisions"]
    assert [(r["numerator"], r["denominator"]) for r in raw] == [(4, 10)]


def test_worklist_lists_the_denominator_without_the_numerator_and_is_audited(
        client: TestClient) -> None:  # noqa: F811
    who = auth(Role.municipality, "851", subject="jobcenter-aalborg-analyst")
    body = client.get(ENDPOINTS["worklist_own"], headers=who).json()
    # citizen-a counts in 851's 2019-06 denominator only; citizen-b in the numerator too.
    assert body["citizens"] == 1 and body["reference_day"] == "2019-06-30"
    assert body["caseworkers"] == [{"caseworker_id": None, "citizens": [{
        "citizen_id": "citizen-a", "case_ref": None, "caseworker_id": None,
        "last_activity_on": None, "days_since_last_activity": None}]}]
    intruder = auth(Role.national, subject="star-monitor")
    assert client.get(ENDPOINTS["worklist_own"], headers=intruder).status_code == 403
    log = client.get("/v1/worklist-access", headers=TOKENS["national"],
                     params={"municipality": "851"}).json()
    mine = [(e["subject"], e["outcome"], e["citizens"]) for e in log
            if e["subject"] in ("jobcenter-aalborg-analyst", "star-monitor")]
    assert mine == [("star-monitor", "denied", None),
                    ("jobcenter-aalborg-analyst", "granted", 1)]
    assert all(e["municipality"] == "851" and e["period"] == "2019-06" for e in log)


def test_worklist_refuses_indicators_without_group_1_members(client: TestClient  # noqa: F811
                                                             ) -> None:
    headers = auth(Role.municipality, "851")
    path = "/v1/municipalities/851/worklist?period=2019-06&indicator="
    assert client.get(path + "fsm_afklaret", headers=headers).status_code == 422
    assert client.get(path + "nope", headers=headers).status_code == 404
    assert client.get("/v1/municipalities/999/worklist?period=2019-06",
                      headers=headers).status_code == 404


def test_metrics_carry_suppressed_indicator_values_and_lag(client: TestClient  # noqa: F811
                                                           ) -> None:
    text = client.get("/metrics", headers=TOKENS["ops"]).text
    labels = 'group="1",indicator="fsm_virksomhedsforloeb",municipality="{}"'
    assert f"kommunepuls_indicator_value{{{labels.format('851')}}} 0.43" in text
    assert f"kommunepuls_indicator_numerator{{{labels.format('851')}}} 43.0" in text
    assert f"kommunepuls_indicator_target_met{{{labels.format('461')}}} 1.0" in text
    assert f"kommunepuls_indicator_target_met{{{labels.format('101')}}} 0.0" in text
    # Læsø (4/10) and Thisted (2/4) are suppressed: no sample at all.
    assert labels.format("825") not in text and labels.format("787") not in text
    assert f"kommunepuls_indicator_denominator{{{labels.format('all')}}} 646.0" in text
    assert "kommunepuls_pipeline_lag_events 0.0" in text
    assert "kommunepuls_pipeline_lag_seconds 0.0" in text
    assert "citizen" not in text.replace("citizens", "")
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                             capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
