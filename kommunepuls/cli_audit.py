"""`kommunepuls audit`: the live read models checked under traffic (registered in
kommunepuls/cli.py; the checks are in kommunepuls/audit.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer


def audit(
    settle: Annotated[float, typer.Option(
        help="Seconds a stored event may wait for the live side before it counts as lost.")]
    = 900.0,
) -> None:
    """Check the live read models under traffic: counts equal the citizens' rows, settled
    citizens equal a fresh fold, and no stored event older than --settle is unevaluated;
    exit 1 otherwise."""
    # Imported here, as the CLI's other commands do: every command's start-up pays for
    # the imports at the top of a module.
    from kommunepuls.audit import AuditResult, record_run
    from kommunepuls.audit import audit as run_audit
    from kommunepuls.cli import _settings, console  # the CLI's, loaded by now
    from kommunepuls.storage.db import create_pool

    settings = _settings()

    async def run() -> AuditResult:
        pool = await create_pool(settings, max_size=2)
        try:
            result = await run_audit(pool, settings.kafka_partitions, settle)
            await record_run(pool, result)  # GET /v1/status tells when it last passed
            return result
        finally:
            await pool.close()

    result = asyncio.run(run())
    console.print(f"{result.citizens} citizens: {result.settled} settled and checked, "
                  f"{result.in_flight} in flight")
    # Pseudonyms, shortened: enough to find a citizen's rows, not to list them all.
    for label, ids in (("stuck (stored events older than --settle, never evaluated)",
                        result.stuck), ("wrong (cells differ from a fresh fold)", result.wrong)):
        if ids:
            shown = ", ".join(c[:12] for c in ids[:5]) + (" ..." if len(ids) > 5 else "")
            console.print(f"[red]{len(ids)} {label}[/]: {shown}")
    for d in result.inconsistent[:20]:
        console.print(f"[red]count differs from the citizens' rows[/]: {d.key.indicator} "
                      f"{d.key.municipality} {d.key.period} group {d.key.group}: "
                      f"count {tuple(d.live) if d.live else '-'}, "
                      f"rows {tuple(d.batch) if d.batch else '-'}")
    if result.inconsistent:
        console.print(f"[red]counts that differ from the citizens' rows: "
                      f"{len(result.inconsistent)}[/]")
    if not result.ok:
        raise typer.Exit(1)
    console.print("[green]audit passed[/]")
