"""Real servers for the suite: one embedded PostgreSQL and one Tansu broker per session;
each test gets its own database schema and its own topic names."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from kommunepuls.config import Settings
from kommunepuls.embedded.broker import TansuBroker, free_port
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.storage.db import create_pool

TEST_PSEUDONYM_KEY = "test-pseudonym-key-" + "k" * 32
TEST_JWT_SECRET = "test-jwt-secret-" + "s" * 32


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    # Not under pytest's basetemp: PostgreSQL runs as another user (we are root) and needs to
    # traverse the path, while pytest keeps its basetemp at mode 0700.
    root = Path(tempfile.mkdtemp(prefix="kommunepuls-pg-"))
    server = EmbeddedPostgres(root / "data", delete_on_stop=True).start()
    asyncio.run(server.ensure_database())
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    server = TansuBroker(free_port(), log_file=log).start()
    yield server
    server.stop()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    tag = uuid.uuid4().hex[:10]
    values: dict[str, object] = {
        "profile": "embedded",
        "data_dir": tmp_path / "data",
        "database_schema": f"t_{tag}",
        "topic_prefix": f"t{tag}-",
        "kafka_idempotence": False,
        "pseudonym_key": TEST_PSEUDONYM_KEY,
        "jwt_secret": TEST_JWT_SECRET,
        "log_format": "console",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, postgres: EmbeddedPostgres, broker: TansuBroker) -> Settings:
    """Settings for one test: its own schema and topics on the session's servers."""
    return make_settings(tmp_path, database_url=postgres.url(),
                         kafka_bootstrap_servers=broker.bootstrap_servers)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A migrated schema of this test's own, and a pool pointed at it."""
    from kommunepuls.storage.db import connect
    from kommunepuls.storage.migrate import migrate

    conn = await connect(settings)
    try:
        await migrate(conn, settings.database_schema)
    finally:
        await conn.close()
    pool = await create_pool(settings)
    yield pool
    await pool.close()


@pytest.fixture
def jwt_secret() -> bytes:
    return TEST_JWT_SECRET.encode()


def random_secret() -> str:
    return secrets.token_urlsafe(40)


def _prometheus_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found: install Debian's prometheus package "
                    "(apt-get install -y --no-install-recommends prometheus); .ci/run does")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _prometheus_tool("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return _prometheus_tool("prometheus")
