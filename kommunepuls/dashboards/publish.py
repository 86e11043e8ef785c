"""Upload the dashboards to a running Grafana with grafana-client (HTTP API, bearer token).

For a Grafana that does not read deploy/grafana/provisioning (a shared or hosted Grafana):
the folder is created when missing, every dashboard is written with `overwrite` (the code
is the source; edits made in the UI are replaced), and the data sources the dashboards
name by uid are checked, so a missing one is reported instead of showing empty panels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kommunepuls.dashboards.panels import API, PROMETHEUS, Json

FOLDER_UID = "kommunepuls"
FOLDER_TITLE = "Kommunepuls"
DATASOURCES = {PROMETHEUS["uid"]: "Prometheus (scrapes the four services)",
               API["uid"]: "Infinity data source pointing at the gateway, with a bearer token"}


class PublishError(Exception):
    """Grafana refused a request or could not be reached."""


@dataclass
class PublishReport:
    folder_created: bool = False
    dashboards: list[tuple[str, str]] = field(default_factory=list)  # (uid, url in Grafana)
    missing_datasources: list[str] = field(default_factory=list)


def publish(dashboards: Mapping[str, Json], url: str, token: str, *,
            folder_uid: str = FOLDER_UID, folder_title: str = FOLDER_TITLE,
            timeout: float = 30.0) -> PublishReport:
    from grafana_client import GrafanaApi
    from grafana_client.client import GrafanaClientError, GrafanaException
    from niquests.exceptions import RequestException

    grafana = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    report = PublishReport()

    def missing(exc: GrafanaException) -> bool:
        return isinstance(exc, GrafanaClientError) and exc.status_code == 404

    try:
        try:
            grafana.folder.get_folder(folder_uid)
        except GrafanaException as exc:
            if not missing(exc):
                raise
            grafana.folder.create_folder(folder_title, uid=folder_uid)
            report.folder_created = True
        for uid in DATASOURCES:
            try:
                grafana.datasource.get_datasource_by_uid(uid)
            except GrafanaException as exc:
                if not missing(exc):
                    raise
                report.missing_datasources.append(uid)
        for dashboard in dashboards.values():
            # `id` None: Grafana finds the dashboard by uid, in whichever instance this is.
            answer = grafana.dashboard.update_dashboard({
                "dashboard": {**dashboard, "id": None}, "folderUid": folder_uid,
                "overwrite": True, "message": "kommunepuls grafana publish"})
            report.dashboards.append((dashboard["uid"], str(answer.get("url", ""))))
    except GrafanaException as exc:
        raise PublishError(f"Grafana at {url}: {exc.message}") from None
    except RequestException as exc:
        raise PublishError(f"Grafana at {url} cannot be reached: {type(exc).__name__}") from None
    return report
