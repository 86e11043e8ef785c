"""GET /: the status page for a municipality user — plain HTML, CSS and JavaScript served
from the package (kommunepuls/web/static), no build step and no CDN. It calls the same API
with the user's token, so it shows exactly what the API says, suppression included."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(str(resources.files("kommunepuls.web").joinpath("static")))


def install_page(app: FastAPI) -> None:
    page = (STATIC / "index.html").read_text("utf-8")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    async def status_page() -> HTMLResponse:
        # The token stays in the browser (URL fragment or form); never sent to this route.
        return HTMLResponse(page, headers={"Cache-Control": "no-cache",
                                           "Referrer-Policy": "no-referrer"})
