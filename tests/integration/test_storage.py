import asyncpg
import pytest

from kommunepuls.config import Settings
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import available_migrations, migrate


async def test_migrations_are_versioned_and_idempotent(settings: Settings) -> None:
    conn = await connect(settings)
    try:
        first = await migrate(conn, settings.database_schema)
        second = await migrate(conn, settings.database_schema)
        assert [m.version for m in first] == [m.version for m in available_migrations()]
        assert second == []
        versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == [m.version for m in available_migrations()]
    finally:
        await conn.close()


async def test_event_store_is_append_only(db: asyncpg.Pool) -> None:
    await db.execute(
        """INSERT INTO events (position, event_id, citizen_id, municipality, type, schema_version,
               occurred_at, recorded_at, source, data, body_hash)
           VALUES (1, gen_random_uuid(), 'c', '851', 'samtale', 1, '2018-03-01', now(), 's',
                   '{}'::jsonb, '\\x00')""")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("UPDATE events SET municipality = '101'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("DELETE FROM events")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("TRUNCATE events")
    assert await db.fetchval("SELECT count(*) FROM events") == 1


async def test_each_test_gets_its_own_schema(db: asyncpg.Pool, settings: Settings) -> None:
    assert await db.fetchval("SELECT current_schema()") == settings.database_schema
    assert await db.fetchval("SELECT position FROM event_store_head") == 0
