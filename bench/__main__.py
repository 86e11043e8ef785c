"""`make bench`: every benchmark in one go, each writing its section of BENCHMARKS.md.

The benchmarks are not tests (`make test` runs only their smoke versions). Each runs in a
child process so one's servers and memory never colour the next one's figures.
"""

from __future__ import annotations

import subprocess
import sys

from bench.sections import machine, write_section

# (section title, module, arguments); those given --write write their own section.
BENCHMARKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Ingest (issue 11)", "bench.ingest", ()),
    ("Kafka ingress (issue 9)", "bench.ingress", ("--events", "50000")),
    ("Stream (issue 10)", "bench.stream", ("--write",)),
    ("Gateway (issue 4)", "bench.gateway", ()),
    ("End-to-end latency (issue 5)", "bench.latency", ("--write",)),
    ("DuckDB peer (issue 5)", "bench.duckdb_peer", ("--events", "300000")),
    ("Replay into fresh read models (issue 5)", "bench.replay", ("--shards", "2")),
    ("Fold and contributions (issue 10)", "bench.fold", ()),
    ("Simulator (issue 5)", "bench.simulate", ()),
)


def main() -> int:
    failed = []
    for title, module, args in BENCHMARKS:
        command = [sys.executable, "-m", module, *args]
        print(f"== {title}: {' '.join(command[1:])}", flush=True)
        result = subprocess.run(command, capture_output=True, text=True)
        print(result.stdout[-4000:], result.stderr[-2000:] if result.returncode else "")
        if result.returncode:
            failed.append(title)
            continue
        if "--write" not in args:
            body = (f"{machine()}; command `.venv/bin/python -m {module} {' '.join(args)}`"
                    f"\n\n```\n{result.stdout.strip()[-6000:]}\n```")
            write_section(title, body)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
