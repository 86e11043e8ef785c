"""How fast the simulator makes fagsystem traffic, optionally writing it as NDJSON.

    .venv/bin/python -m bench.simulate --citizens 30000 [--seed 1] [--out run.ndjson.gz]

Prints emissions, emissions per second (wall and CPU) and peak memory. The collector's
young-generation threshold is raised as any bulk generator should: a run allocates
millions of small dicts that live for a month of simulated time, and the default
threshold (700) makes the collector re-scan the live citizens again and again.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from collections import Counter
from pathlib import Path

from kommunepuls.simulator import SimConfig, generate
from kommunepuls.simulator.ndjson import write_emissions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write emissions here (.ndjson or .ndjson.gz)")
    parser.add_argument("--default-gc", action="store_true", help="keep the collector's defaults")
    args = parser.parse_args()
    if not args.default_gc:
        gc.set_threshold(100_000, 20, 20)

    config = SimConfig(seed=args.seed, citizens=args.citizens)
    wall, cpu = time.perf_counter(), time.process_time()
    faults: Counter[str | None] = Counter()

    def counted():  # type: ignore[no-untyped-def]
        for emission in generate(config):
            faults[emission.fault] += 1
            yield emission

    if args.out:
        n = write_emissions(counted(), args.out)
    else:
        n = sum(1 for _ in counted())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.citizens} citizens, seed {args.seed}: {n} emissions "
        f"({n / args.citizens:.1f} per citizen)"
    )
    print(
        f"  {wall:.1f} s wall = {n / wall:,.0f} emissions/s; "
        f"{cpu:.1f} s CPU = {n / cpu:,.0f} emissions/s; peak RSS {peak_mb:.0f} MB"
    )
    print("  faults:", ", ".join(f"{k or 'none'} {v}" for k, v in faults.most_common()))


if __name__ == "__main__":
    main()
