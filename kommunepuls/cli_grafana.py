"""`kommunepuls grafana ...`: generate the dashboards as code, and publish them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

grafana_app = typer.Typer(help="Grafana dashboards as code: generate the JSON, publish it.",
                          no_args_is_help=True)
console = Console(stderr=True)

DEFAULT_DIR = Path("deploy/grafana/dashboards")


@grafana_app.command()
def dashboards(
    directory: Annotated[Path, typer.Option("--dir", help="Where the dashboard JSON lives.")]
    = DEFAULT_DIR,
    check: Annotated[bool, typer.Option(help="Only report drift; exit 1 if any.")] = False,
) -> None:
    """Write the dashboards (generated from the indicator catalogue) as JSON."""
    from kommunepuls.cli_generated import write_or_check
    from kommunepuls.dashboards import dashboards_drift, write_dashboards

    write_or_check(directory, check=check, write=write_dashboards, drift=dashboards_drift,
                   console=console)


@grafana_app.command()
def publish(
    url: Annotated[str, typer.Option(help="Grafana's base URL, e.g. https://grafana.example.org.",
                                     envvar="GRAFANA_URL")],
    token: Annotated[str, typer.Option(
        help="A Grafana service account token (Editor on the folder).", envvar="GRAFANA_TOKEN",
        show_default=False)],
    folder_uid: Annotated[str, typer.Option(help="Folder to publish into (created if missing).")]
    = "kommunepuls",
    folder_title: Annotated[str, typer.Option(help="Title of a folder this creates.")]
    = "Kommunepuls",
) -> None:
    """Upload the dashboards to Grafana (overwriting them by uid) with grafana-client."""
    from kommunepuls.dashboards import build_dashboards
    from kommunepuls.dashboards.publish import DATASOURCES, PublishError
    from kommunepuls.dashboards.publish import publish as upload

    try:
        report = upload(build_dashboards(), url, token, folder_uid=folder_uid,
                        folder_title=folder_title)
    except PublishError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if report.folder_created:
        console.print(f"created folder {folder_uid}")
    for uid, where in report.dashboards:
        console.print(f"published {uid}  {where}")
    for uid in report.missing_datasources:
        # Not fatal: the dashboards are stored; their panels stay empty until it exists.
        console.print(f"[yellow]warning:[/] no data source with uid {uid!r} in this Grafana "
                      f"({DATASOURCES[uid]}); see deploy/grafana/provisioning/datasources")
