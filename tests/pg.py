"""A PostgreSQL server for the tests: $ILERTD_TEST_DSN, or an embedded one started here."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextmanager
def test_server() -> Iterator[str]:
    """Yield an admin DSN (database ``postgres``) for creating throwaway databases."""
    configured = os.environ.get("ILERTD_TEST_DSN")
    if configured:
        yield configured
        return
    from ilertd.embedded import start_embedded

    root = Path(tempfile.mkdtemp(prefix="ilertd-test-pg-"))
    server = start_embedded(root)
    try:
        yield with_database(server.uri, "postgres")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def create_database(admin_dsn: str) -> str:
    name = f"ilertd_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, dsn: str) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()
