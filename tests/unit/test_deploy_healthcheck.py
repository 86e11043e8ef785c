"""The container healthcheck script (deploy/docker/healthcheck.py): finds the service it
runs beside and exits 0 only when that service's endpoint answers 200."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.container_helpers import APP_SERVICES, HEALTHCHECK_SCRIPT, PORT_VARIABLES


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kommunepuls_healthcheck", HEALTHCHECK_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path in ("/healthz", "/readyz") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_healthcheck_finds_the_service_on_the_command_line(healthcheck: ModuleType) -> None:
    find = healthcheck.service_from_argv
    argv = ["/opt/venv/bin/python", "/opt/venv/bin/kommunepuls", "serve", "cohorts"]
    assert find(argv) == "cohorts"
    assert find(["kommunepuls", "migrate"]) is None
    assert find(["kommunepuls", "serve"]) is None
    assert set(healthcheck.ENDPOINTS) == set(APP_SERVICES)
    assert set(PORT_VARIABLES.values()) == {v for v, _, _ in healthcheck.ENDPOINTS.values()}


def test_healthcheck_finds_the_service_among_processes(
    healthcheck: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "1").mkdir()
    cmdline = b"/sbin/docker-init\0--\0kommunepuls\0serve\0metrics\0"
    (tmp_path / "1" / "cmdline").write_bytes(cmdline)
    assert healthcheck.running_service(tmp_path) == "metrics"
    assert healthcheck.running_service(tmp_path / "none") is None


@pytest.mark.parametrize(("status", "expected"), [(200, 0), (503, 1)])
def test_healthcheck_exit_code_follows_the_endpoint(
    healthcheck: ModuleType, health_server: ThreadingHTTPServer,
    monkeypatch: pytest.MonkeyPatch, status: int, expected: int,
) -> None:
    monkeypatch.setattr(_Health, "status", status)
    monkeypatch.setenv("KOMMUNEPULS_GATEWAY_PORT", str(health_server.server_address[1]))
    assert healthcheck.main(["kommunepuls-healthcheck", "gateway"]) == expected


def test_healthcheck_fails_when_nothing_listens(
    healthcheck: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    port = server.server_address[1]
    server.server_close()  # the port is free again: connection refused
    monkeypatch.setenv("KOMMUNEPULS_COHORTS_WEB_PORT", str(port))
    assert healthcheck.main(["kommunepuls-healthcheck", "cohorts"]) == 1
