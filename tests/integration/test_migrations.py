"""The migrations build exactly the schema the models describe, and an older database upgrades."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from ghapp.store.db import make_engine, migrate
from ghapp.store.models import Base


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_migrating_an_empty_database_gives_the_models_schema(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        await migrate(engine)
        await migrate(engine)  # a second run is a no-op
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_a_database_of_the_first_release_upgrades_keeping_its_jobs(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        await migrate(engine, "0001")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO jobs (state, trigger, installation_id, owner, repo, head_sha, "
                    "received_at, attempts, note) VALUES ('done', 'push', 1, 'cs101', 'hw1-ann', "
                    "'abc', '2026-11-24 10:00:00', 1, '')"
                )
            )
        await migrate(engine)
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT repo, counted, timing FROM jobs"))).one()
            assert tuple(row) == ("hw1-ann", 0, None)
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_processes_migrating_an_empty_database_at_once_take_turns(db_url):
    """Four processes' worth of engines migrate one empty database together: none fails."""
    engines = [make_engine(db_url) for _ in range(4)]
    try:
        await asyncio.gather(*(migrate(engine) for engine in engines))
        async with engines[0].connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        for engine in engines:
            await engine.dispose()


def test_pushgrade_migrate_brings_a_database_up_to_date(tmp_path, monkeypatch, capsys):
    from pushgrade.cli import main

    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    monkeypatch.setenv("PUSHGRADE_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (tmp_path / "fresh.sqlite3").stat().st_size > 0
