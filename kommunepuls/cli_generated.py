"""Files generated from code (the event schemas, the dashboards): written, or with
`--check` compared with what is on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import typer
from rich.console import Console


def write_or_check(directory: Path, *, check: bool, write: Callable[[Path], Iterable[Path]],
                   drift: Callable[[Path], list[str]], console: Console) -> None:
    """Write the files into `directory`, printing each path; with `check`, write nothing,
    print every drift and exit 1 if there is any (0 if none)."""
    if check:
        found = drift(directory)
        for line in found:
            console.print(f"[red]{line}[/]")
        raise typer.Exit(1 if found else 0)
    for path in write(directory):
        console.print(str(path))
