"""CPU seconds per process group from /proc (utime + stime), for the benchmarks: what the
ingest process(es), PostgreSQL and the client each spent during a phase."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path


def proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the fields after "(comm)"; comm may hold spaces


def family(root: int) -> list[int]:
    """`root` and all its descendants (uvicorn's workers, PostgreSQL's backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))):
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of the live processes in `pids` (0 off Linux)."""
    ticks = 0
    for pid in pids:
        if stat := proc_stat(pid):
            ticks += int(stat[11]) + int(stat[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of the process groups of a phase between `start()` and `stop()`."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self._start: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self._start = {name: {pid: cpu_seconds([pid]) for pid in pids()}
                       for name, pids in self.groups.items()}

    def stop(self) -> dict[str, float]:
        # A process that started during the phase (a pool's new backend) counts in full;
        # one that ended during it is lost, which none of ours does.
        return {name: sum(cpu_seconds([pid]) - self._start[name].get(pid, 0.0)
                          for pid in pids())
                for name, pids in self.groups.items()}


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of `root` and its live descendants, plus the children it has already
    reaped (PostgreSQL's backends exit with their connections; their time stays in the
    postmaster's cutime and cstime)."""
    reaped = 0.0
    if stat := proc_stat(root):
        reaped = (int(stat[13]) + int(stat[14])) / os.sysconf("SC_CLK_TCK")
    return cpu_seconds(family(root)) + reaped
