"""`kommunepuls grafana publish` against a fake Grafana HTTP API on loopback.

No Grafana server can be had here: Debian has no `grafana` package (`apt-cache policy
grafana` shows no candidate; Grafana Labs ships it from its own apt repository and as a
container image, neither reachable in this environment). So a small HTTP server records
the calls grafana-client makes and answers like Grafana's API does (folders, data sources,
POST /api/dashboards/db), which checks what we send; that Grafana renders the JSON is
not checked here.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from kommunepuls.cli_grafana import grafana_app
from kommunepuls.dashboards import build_dashboards

TOKEN = "glsa_test-service-account-token"
Json = dict[str, Any]


@dataclass
class FakeGrafana:
    """What a Grafana holds, and every request it got."""

    folders: dict[str, str] = field(default_factory=dict)  # uid -> title
    datasources: set[str] = field(default_factory=lambda: {"prometheus"})
    dashboards: dict[str, Json] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)  # method, path, body
    authorizations: set[str] = field(default_factory=set)


def handler_for(grafana: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest's output clean
            pass

        def answer(self, status: int, body: Json) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_call(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            grafana.calls.append((method, self.path, body))
            authorization = self.headers.get("Authorization", "")
            grafana.authorizations.add(authorization)
            if authorization != f"Bearer {TOKEN}":
                return self.answer(401, {"message": "invalid API key"})
            path = self.path
            if method == "GET" and path.startswith("/api/folders/"):
                uid = path.removeprefix("/api/folders/")
                if uid in grafana.folders:
                    return self.answer(200, {"uid": uid, "title": grafana.folders[uid]})
                return self.answer(404, {"message": "folder not found"})
            if method == "POST" and path == "/api/folders":
                grafana.folders[body["uid"]] = body["title"]
                return self.answer(200, {"uid": body["uid"], "title": body["title"]})
            if method == "GET" and path.startswith("/api/datasources/uid/"):
                uid = path.removeprefix("/api/datasources/uid/")
                if uid in grafana.datasources:
                    return self.answer(200, {"uid": uid})
                return self.answer(404, {"message": "Data source not found"})
            if method == "POST" and path == "/api/dashboards/db":
                dashboard = body["dashboard"]
                if body.get("folderUid") not in grafana.folders:
                    return self.answer(400, {"message": "folder not found"})
                version = grafana.dashboards.get(dashboard["uid"], {}).get("version", 0) + 1
                grafana.dashboards[dashboard["uid"]] = {**dashboard, "version": version}
                return self.answer(200, {"status": "success", "uid": dashboard["uid"],
                                         "url": f"/d/{dashboard['uid']}/x", "version": version})
            return self.answer(404, {"message": "Not found"})

        def do_GET(self) -> None:
            self.handle_call("GET")

        def do_POST(self) -> None:
            self.handle_call("POST")

    return Handler


@pytest.fixture
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    state = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def publish(url: str, token: str = TOKEN) -> Any:
    return CliRunner().invoke(grafana_app, ["publish", "--url", url, "--token", token])


def test_publish_creates_the_folder_and_uploads_every_dashboard(
        grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    result = publish(url)
    assert result.exit_code == 0, result.output
    assert state.authorizations == {f"Bearer {TOKEN}"}
    assert state.folders == {"kommunepuls": "Kommunepuls"}
    uploads = [body for method, path, body in state.calls
               if (method, path) == ("POST", "/api/dashboards/db")]
    generated = build_dashboards()
    assert len(uploads) == len(generated)
    for body, dashboard in zip(uploads, generated.values(), strict=True):
        assert body["overwrite"] is True and body["folderUid"] == "kommunepuls"
        assert body["dashboard"] == {**dashboard, "id": None}
    assert "created folder kommunepuls" in result.output
    for dashboard in generated.values():
        assert f"published {dashboard['uid']}" in result.output


def test_publish_reports_a_missing_data_source(grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    result = publish(url)
    asked = {path for method, path, _ in state.calls if path.startswith("/api/datasources/")}
    assert asked == {"/api/datasources/uid/prometheus", "/api/datasources/uid/kommunepuls-api"}
    assert result.exit_code == 0
    assert "no data source with uid 'kommunepuls-api'" in " ".join(result.output.split())


def test_publishing_again_overwrites_in_the_existing_folder(
        grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    assert publish(url).exit_code == 0
    state.calls.clear()
    result = publish(url)
    assert result.exit_code == 0
    assert ("POST", "/api/folders") not in {(m, p) for m, p, _ in state.calls}
    assert {d["version"] for d in state.dashboards.values()} == {2}


def test_a_wrong_token_fails_with_grafanas_answer(grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    result = publish(url, token="wrong")
    assert result.exit_code == 1
    assert "Unauthorized" in result.output
    assert not state.dashboards


def test_an_unreachable_grafana_fails_cleanly() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = publish(f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert "cannot be reached" in result.output
