"""The status page in a real browser: headless Chromium (Debian's) driven by Playwright
against the gateway under uvicorn. The page loads, shows Aalborg's current value as the API
states it, draws its three charts, and logs no console error. A screenshot is kept as a
test artifact (in $KOMMUNEPULS_TEST_ARTIFACTS if set, else the test's tmp dir).

Skipped where Playwright or Chromium is not installed: Playwright is a pinned dev
dependency; Debian's chromium is installed by .ci/run (Playwright's own browser download
cannot work on these machines)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from kommunepuls.auth import Role, issue_token
from kommunepuls.config import Settings
from kommunepuls.embedded.broker import free_port
from services.gateway.app import create_app
from tests.conftest import TEST_JWT_SECRET
from tests.integration.test_gateway_api import VF, gateway_settings  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


@pytest.fixture(scope="module")
def base_url(gateway_settings: Settings) -> Iterator[str]:  # noqa: F811
    port = free_port()
    config = uvicorn.Config(create_app(gateway_settings, cache_seconds=0), host="127.0.0.1",
                            port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the gateway did not start")
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(10)


def test_status_page_shows_the_api_value_without_console_errors(
        base_url: str, tmp_path: Path) -> None:
    token = issue_token(TEST_JWT_SECRET.encode(), subject="page", role=Role.municipality,
                        municipalities=["851"])
    api = httpx.get(f"{base_url}/v1/indicators/{VF}/values",
                    params={"municipality": "851", "period": "2019-06"},
                    headers={"Authorization": f"Bearer {token}"}).json()
    expected = f"{api['value_pct']:.1f}".replace(".", ",") + " %"  # Danish: 43,0 %
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{base_url}/#token={token}&municipality=851")
            sync_api.expect(page.locator("#current-value")).to_have_text(expected,
                                                                        timeout=15_000)
            for chart in ("#series-chart", "#ranking-chart", "#curve-chart"):
                sync_api.expect(page.locator(f"{chart} svg")).to_have_count(1)
            assert page.locator("#ranking-chart rect.bar.own").count() == 1
            assert page.locator("#municipality option").count() == 98
            artifacts = Path(os.environ.get("KOMMUNEPULS_TEST_ARTIFACTS", tmp_path))
            artifacts.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(artifacts / "status-page.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
