"""Open-loop HTTP load from this process: requests due at a fixed rate over keep-alive
connections, each timed from when it was due (no coordinated omission)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.cpu import cpu_seconds, family

HEADER = ("| phase | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")


class Connection:
    """One keep-alive HTTP/1.1 connection; enough HTTP for uvicorn's answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status


@dataclass
class Result:
    name: str
    sent: int
    seconds: float
    latencies: list[float]  # seconds, of the requests answered 200
    errors: int
    server_cpu: float  # CPU seconds of the server process during the phase

    def merged(self, other: Result) -> Result:
        return Result(self.name, self.sent + other.sent, self.seconds + other.seconds,
                      self.latencies + other.latencies, self.errors + other.errors,
                      self.server_cpu + other.server_cpu)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    def line(self) -> str:
        return (f"| {self.name} | {self.sent / self.seconds:,.0f} | {self.percentile(0.5):.2f} "
                f"| {self.percentile(0.9):.2f} | {self.percentile(0.99):.2f} "
                f"| {max(self.latencies, default=0) * 1000:.1f} | {self.errors} "
                f"| {self.server_cpu / self.seconds:.0%} |")


def server_cpu(root: int) -> float:
    """CPU seconds of the server `root` and its processes (uvicorn's workers)."""
    return cpu_seconds(family(root))


async def load(name: str, port: int, pid: int, paths: Sequence[str], token: str, rate: float,
               seconds: float, connections: int) -> Result:
    """Open-loop load: request i is due at start + i / rate, whatever came back."""
    requests = [(f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 f"Accept: application/json\r\n\r\n").encode() for p in paths]
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(*await asyncio.open_connection("127.0.0.1", port)))
    latencies: list[float] = []
    errors = 0

    async def one(due: float, request: bytes) -> None:
        nonlocal errors
        connection = await pool.get()
        try:
            status = await connection.get(request)
        finally:
            pool.put_nowait(connection)
        if status == 200:
            latencies.append(time.perf_counter() - due)
        else:
            errors += 1

    total = int(rate * seconds)
    cpu_before = server_cpu(pid)
    # perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds.
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(due, requests[i % len(requests)])))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    result = Result(name, total, elapsed, latencies, errors, server_cpu(pid) - cpu_before)
    while not pool.empty():
        pool.get_nowait().writer.close()
    return result
