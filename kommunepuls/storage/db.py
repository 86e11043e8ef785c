"""PostgreSQL connections: one asyncpg pool per process, pointed at the configured schema."""

from __future__ import annotations

import asyncpg
import orjson

from kommunepuls.config import Settings


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out through orjson, in binary format (version byte 1 + JSON text) so that
    # COPY, which is binary-only in asyncpg, can write it: the event store's hot path.
    await conn.set_type_codec("jsonb", encoder=lambda v: b"\x01" + orjson.dumps(v),
                              decoder=lambda b: orjson.loads(b[1:]), schema="pg_catalog",
                              format="binary")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on every release: we never change session state on pooled
    connections, and the round trip is a measurable share of a gateway request."""


def server_settings(settings: Settings) -> dict[str, str]:
    values = {"application_name": "kommunepuls"}
    if settings.database_schema:
        values["search_path"] = settings.database_schema
    return values


async def create_pool(settings: Settings, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.database_url, min_size=min_size, max_size=max_size,
        server_settings=server_settings(settings), init=_init_connection, reset=_keep_session,
    )
    assert pool is not None
    return pool


async def connect(settings: Settings) -> asyncpg.Connection:
    conn = await asyncpg.connect(settings.database_url, server_settings=server_settings(settings))
    await _init_connection(conn)
    return conn
