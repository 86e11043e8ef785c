"""The `kommunepuls` command: run the platform, one service, migrations, tokens."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import ConfigError, Settings, load_settings
from kommunepuls.logs import configure_logging

app = typer.Typer(help="Kommunepuls: near-real-time monitoring of municipal employment efforts.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  pretty_exceptions_show_locals=False)
console = Console(stderr=True)


class Service(StrEnum):
    ingest = "ingest"
    cohorts = "cohorts"
    metrics = "metrics"
    gateway = "gateway"


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/] {exc}")
        raise typer.Exit(2) from None


@app.command()
def up(
    simulate: Annotated[bool, typer.Option(help="Feed simulated fagsystem traffic.")] = True,
    data_dir: Annotated[Path, typer.Option(help="Where PostgreSQL data and dev secrets live.")]
    = Path(".kommunepuls"),
) -> None:
    """Run the whole platform on its embedded default (what `make demo` runs)."""
    from kommunepuls.embedded.supervisor import run_platform

    settings = _settings(profile="embedded", data_dir=data_dir)
    configure_logging(settings.log_level, "console", service="up")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    raise typer.Exit(asyncio.run(run_platform(settings, simulate=simulate, console=console)))


@app.command()
def serve(service: Annotated[Service, typer.Argument(help="The service to run.")]) -> None:
    """Run one service in the foreground (the container entry point)."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format, service=service.value)
    if service in (Service.ingest, Service.gateway):
        import uvicorn

        if service is Service.ingest:
            from services.ingest.app import create_app

            host, port = settings.ingest_host, settings.ingest_port
        else:
            from services.gateway.app import create_app  # type: ignore[assignment]

            host, port = settings.gateway_host, settings.gateway_port
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None,
                    server_header=False, date_header=True, loop="uvloop", access_log=False)
        return
    from kommunepuls.streaming import run_worker

    if service is Service.cohorts:
        from services.cohorts.app import create_app as create_worker
    else:
        from services.metrics.app import create_app as create_worker  # type: ignore[assignment]
    run_worker(create_worker(settings), settings)


@app.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema (idempotent, versioned)."""
    from kommunepuls.storage.db import connect
    from kommunepuls.storage.migrate import migrate

    settings = _settings()

    async def run() -> list[str]:
        conn = await connect(settings)
        try:
            applied = await migrate(conn, settings.database_schema)
            return [f"{m.version:04d}_{m.name}" for m in applied]
        finally:
            await conn.close()

    applied = asyncio.run(run())
    console.print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="fagsystem, municipality, national or ops.")],
    municipality: Annotated[list[str] | None, typer.Option(
        help="Kommunekode the token may act for; repeat for several.")] = None,
    subject: Annotated[str, typer.Option(help="Who the token is for.")] = "",
    ttl_hours: Annotated[int, typer.Option(
        min=1, help="Lifetime in hours (8760 = a year, e.g. for a scraper's token).")] = 24 * 30,
    data_dir: Annotated[Path, typer.Option(help="Data dir of the embedded profile.")]
    = Path(".kommunepuls"),
    out: Annotated[Path | None, typer.Option(
        help="Write the token to this file (mode 0640, replaced atomically) instead of "
             "printing it: a credentials file for Prometheus.")] = None,
) -> None:
    """Print (or write, with --out) an access token (JWT, HS256) signed with
    KOMMUNEPULS_JWT_SECRET."""
    import os

    from kommunepuls.config import DEV_SECRETS_FILE

    # On a laptop running `make demo`, sign with the demo's generated secret.
    embedded = ("KOMMUNEPULS_JWT_SECRET" not in os.environ
                and (data_dir / DEV_SECRETS_FILE).exists())
    settings = _settings(**({"profile": "embedded", "data_dir": data_dir} if embedded else {}))
    try:
        subject = subject or f"{role.value}-cli"
        value = issue_token(settings.secret("jwt_secret"), subject=subject,
                            role=role, municipalities=municipality or [],
                            ttl_seconds=ttl_hours * 3600)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    if out is None:
        typer.echo(value)
        return
    _write_token_file(out, value)
    console.print(f"{role.value} token for {subject} written to {out}")


def _write_token_file(path: Path, token: str) -> None:
    """Write `token` to `path`, readable by owner and group only.

    Group-readable, not 0600: the reader is another container's user (docker-compose gives
    Prometheus the kommunepuls group). Written to a temporary file and renamed into place,
    so a scraper re-reading the file never sees it half-written.
    """
    import os

    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                       "w") as handle:
            # Set after creation: at open the umask could take the group's bit away.
            os.fchmod(handle.fileno(), 0o640)
            handle.write(token + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@app.command()
def schemas(
    directory: Annotated[Path, typer.Option("--dir", help="Where the contract lives.")]
    = Path("schemas"),
    check: Annotated[bool, typer.Option(help="Only report drift; exit 1 if any.")] = False,
) -> None:
    """Write the event contract's JSON Schemas (generated from the models)."""
    from kommunepuls.cli_generated import write_or_check
    from kommunepuls.domain.schemas import schemas_drift, write_schemas

    write_or_check(directory, check=check, write=write_schemas, drift=schemas_drift,
                   console=console)


@app.command()
def replay(
    from_position: Annotated[int, typer.Option(help="Republish events after this position.")]
    = 0,
    to_topic: Annotated[str | None, typer.Option(help="Target topic (default: case-events).")]
    = None,
) -> None:
    """Republish the event store to Kafka as segments (rebuilds a topic from the record)."""
    from kommunepuls.replay import replay_store

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format, service="replay")
    total = asyncio.run(replay_store(settings, from_position, to_topic, console=console))
    console.print(f"republished {total} events")


@app.command()
def recompute() -> None:
    """Evaluate every indicator straight from the event store; store it as a snapshot."""
    from kommunepuls.clock import platform_today
    from kommunepuls.recompute import recompute_counts, write_snapshot
    from kommunepuls.storage.db import create_pool

    settings = _settings()

    async def run() -> tuple[int, int, int]:
        pool = await create_pool(settings, max_size=2)
        try:
            today = await platform_today(settings, pool)
            counts, head = await recompute_counts(pool, today)
            return await write_snapshot(pool, counts, today, head), len(counts), head
        finally:
            await pool.close()

    run_id, cells, head = asyncio.run(run())
    console.print(f"recompute run {run_id}: {cells} cells from events through position {head}")


@app.command()
def verify(
    wait: Annotated[float, typer.Option(help="Seconds to wait for the live side to agree.")]
    = 0.0,
) -> None:
    """Compare the live read models with a batch recompute; exit 1 on any difference."""
    import time

    from rich.table import Table

    from kommunepuls.clock import platform_today
    from kommunepuls.recompute import compare, live_counts, recompute_counts
    from kommunepuls.storage.db import create_pool

    settings = _settings()

    async def run() -> tuple[list, int, int]:  # type: ignore[type-arg]
        pool = await create_pool(settings, max_size=2)
        try:
            deadline = time.monotonic() + wait
            while True:
                today = await platform_today(settings, pool)
                batch, head = await recompute_counts(pool, today)
                differences = compare(await live_counts(pool), batch)
                if not differences or time.monotonic() >= deadline:
                    return differences, len(batch), head
                await asyncio.sleep(1.0)
        finally:
            await pool.close()

    differences, cells, head = asyncio.run(run())
    if not differences:
        console.print(f"[green]0 differences[/] in {cells} cells (events through {head})")
        return
    table = Table("indicator", "municipality", "period", "group", "live", "batch")
    for d in differences[:50]:
        live = str(tuple(d.live)) if d.live else "-"
        batch = str(tuple(d.batch)) if d.batch else "-"
        table.add_row(d.key.indicator, d.key.municipality, d.key.period, str(d.key.group),
                      live, batch)
    console.print(table)
    console.print(f"[red]{len(differences)} differences[/] in {cells} cells")
    raise typer.Exit(1)


@app.command("rebuild")
def rebuild_command(
    processes: Annotated[int, typer.Option(min=1, help="Processes sharing the citizens.")] = 2,
    force: Annotated[bool, typer.Option(
        help="Skip asking the broker whether cohorts/metrics workers run.")] = False,
) -> None:
    """Rebuild the metrics read models from the event store in bulk (stop the workers first)."""
    from kommunepuls.rebuild import RebuildError, rebuild

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format, service="rebuild")
    try:
        result = asyncio.run(rebuild(settings, processes=processes, force=force))
    except RebuildError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"rebuilt from {result.events} events of {result.citizens} citizens through "
                  f"position {result.head} (today {result.today}) in {result.seconds:.1f} s: "
                  f"{result.count_rows} count rows, {result.revisions} new revisions")


@app.command()
def simulate(
    citizens: Annotated[int, typer.Option(help="FSM citizens across the 98 municipalities.")]
    = 4_000,
    seed: Annotated[int, typer.Option(help="Same seed, same traffic.")] = 1,
    start: Annotated[str, typer.Option(help="First simulated day.")] = "2017-08-01",
    end: Annotated[str, typer.Option(help="Last simulated day.")] = "2019-12-31",
    speed: Annotated[float, typer.Option(
        help="Simulated seconds per real second (86400 = a day a second; 0 = flat out).")]
    = 86_400.0,
    ingest_url: Annotated[str, typer.Option(help="Ingest API to post to.")]
    = "http://127.0.0.1:8001",
    ndjson: Annotated[Path | None, typer.Option(help="Write NDJSON here instead of posting.")]
    = None,
    faults: Annotated[bool, typer.Option(
        help="Late events, duplicates, retractions and invalid events.")] = True,
    drive_clock: Annotated[bool, typer.Option(
        help="Set the platform's today to the simulated day (needs DATABASE_URL).")] = True,
    experiments: Annotated[bool, typer.Option(
        help="Also the frikommune experiments' citizens (microloans, graduates, ...).")] = True,
) -> None:
    """Generate fagsystem traffic for all 98 municipalities (deterministic for a seed)."""
    from dataclasses import replace
    from datetime import date

    from kommunepuls.simulator.generator import SimConfig, generate

    config = SimConfig(seed=seed, citizens=citizens, start=date.fromisoformat(start),
                       end=date.fromisoformat(end))
    if not faults:
        config = replace(config, late_share=0.0, duplicate_share=0.0, retraction_share=0.0,
                         invalid_share=0.0)
    if ndjson is not None:
        from kommunepuls.simulator.ndjson import write_envelopes

        console.print(f"wrote {write_envelopes(generate(config), ndjson)} envelopes to {ndjson}")
        return
    from kommunepuls.simulator.feed import run_simulation

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format, service="simulate")
    stats = asyncio.run(run_simulation(settings, config, ingest_url=ingest_url, speed=speed,
                                       drive_clock=drive_clock, experiments=experiments))
    console.print(f"sent {stats.sent} events: {stats.accepted} accepted, "
                  f"{stats.duplicates} duplicates, {stats.rejected} rejected "
                  f"({stats.rate:.0f} events/s)")



@app.command()
def recover() -> None:
    """After the broker lost its data: recreate topics and republish what was not counted."""
    from kommunepuls.kafka import ensure_topics
    from kommunepuls.storage.db import create_pool
    from services.ingest.relay import rewind_to_durable

    settings = _settings()

    async def run() -> tuple[list[str], int, int]:
        created = await ensure_topics(settings)
        pool = await create_pool(settings, max_size=1)
        try:
            old, new = await rewind_to_durable(pool, settings.kafka_partitions)
        finally:
            await pool.close()
        return created, old, new

    created, old, new = asyncio.run(run())
    console.print(f"topics created: {', '.join(created) or 'none'}; relay checkpoint {old} -> "
                  f"{new} (the relay republishes from there)")


# Sub-apps and commands of their own modules, imported once the above is defined.
from kommunepuls.cli_audit import audit  # noqa: E402
from kommunepuls.cli_grafana import grafana_app  # noqa: E402
from kommunepuls.cli_keys import keys  # noqa: E402

app.add_typer(grafana_app, name="grafana")
app.command()(keys)
app.command()(audit)
