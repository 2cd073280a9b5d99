"""The store on both databases: SQLite in a temporary file, PostgreSQL on the test server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from vivavoce.store import store_for
from vivavoce.store.sql import SqlStore


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path) -> AsyncIterator[SqlStore]:
    if request.param == "sqlite":
        opened = store_for(data_dir=str(tmp_path))
    else:
        opened = store_for(database_url=request.getfixturevalue("postgres").new_database())
    await opened.open()
    yield opened
    await opened.close()
