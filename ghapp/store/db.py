"""The database: an async engine for any SQLAlchemy URL, SQLite tuned for one busy process, and
alembic migrations applied on start."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, exc, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ghapp.core.oneline import said

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_URL = "sqlite+aiosqlite:///pushgrade.sqlite3"


_DATABASES = "PostgreSQL (postgresql://USER:PASSWORD@HOST:PORT/NAME) or SQLite (sqlite:///FILE)"


def async_url(value: str | None) -> str:
    """A database URL as the async URL pushgrade connects with: `postgresql://` (and
    `postgres://`, as hosting services write it) runs on asyncpg, `sqlite:///FILE` on aiosqlite;
    empty is the default. Anything else is a ValueError whose message follows the setting's
    name (" is not …", ": …") and never repeats the URL (it may hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not value:
        return DEFAULT_URL
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ValueError(f" is not a database URL: pushgrade runs on {_DATABASES}") from None
    backend, _, driver = url.drivername.partition("+")
    wanted = {"postgresql": "asyncpg", "postgres": "asyncpg", "sqlite": "aiosqlite"}.get(backend)
    if wanted is None:
        raise ValueError(f": {backend} is not supported; pushgrade runs on {_DATABASES}")
    if driver not in ("", wanted):
        raise ValueError(
            f": pushgrade talks to {backend} with {wanted}, not {driver}: "
            f"write {backend}://… or {backend}+{wanted}://…"
        )
    backend = "postgresql" if backend == "postgres" else backend
    return url.set(drivername=f"{backend}+{wanted}").render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names when it does not exist (a command that only reads or adds
    to a database must not make an empty one); None for a file that exists, or a server."""
    from sqlalchemy.engine import make_url

    if not is_sqlite(url):
        return None
    database = make_url(url).database or ""
    if not database or database.startswith(":memory:") or database.startswith("file:"):
        return None
    path = Path(database).resolve()
    return None if path.exists() else path


LOW_DISK = 16 * 1024 * 1024  # SQLite's WAL and its checkpoints need room to grow


def disk_trouble(engine: AsyncEngine | None) -> str | None:
    """Whether the disk holding a SQLite database is (nearly) full: then its writes fail while
    its reads go on, so a `SELECT 1` says nothing. None for a database server (it refuses
    writes itself, and says so) or with room to spare."""
    if engine is None or engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    if not database or database.startswith(":memory:") or database.startswith("file:"):
        return None
    try:
        free = shutil.disk_usage(Path(database).resolve().parent).free
    except OSError as err:
        return f"its folder cannot be read ({said(err)})"
    if free >= LOW_DISK:
        return None
    return f"its disk is nearly full ({free // 1024} KiB free)"


def make_engine(url: str = DEFAULT_URL) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            # WAL: readers never block the writer; busy_timeout: writers wait instead of failing.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            # FULL: a delivery answered 2xx survives a power loss, not only a crash (WAL with
            # NORMAL may lose the last commits to a power loss).
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


# What the rest of pushgrade holds of the database and hands to store's functions.
Sessions = async_sessionmaker


def sessionmaker(engine: AsyncEngine) -> Sessions:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    # SQLite has one writer at a time. Writers of this process take turns here, in order, instead
    # of colliding on the database lock, whose busy handler sleeps in growing steps (a p99 of
    # seconds under a burst of webhooks). PostgreSQL needs no such queue.
    sessions.write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    return sessions


def dialect_insert(session: AsyncSession):
    """The INSERT that knows ON CONFLICT on the session's database."""
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


_AFTER_COMMIT = "pushgrade.after_commit"


@contextlib.asynccontextmanager
async def write_session(sessions: async_sessionmaker) -> AsyncIterator[AsyncSession]:
    """A session in a transaction, for writing: serialised within the process on SQLite. What
    `after_commit` asked for runs once the transaction has committed (never on a rollback)."""
    lock = getattr(sessions, "write_lock", None)
    async with lock or contextlib.nullcontext(), sessions() as session:
        async with session.begin():
            yield session
        for announce in session.info.pop(_AFTER_COMMIT, ()):
            announce()


def after_commit(session: AsyncSession, announce: Callable[[], object]) -> None:
    """Run `announce` once the transaction of `session` (a `write_session`'s) commits: a
    hand-off announced before then (a publisher woken for a write it cannot see yet) finds
    nothing and waits for its next poll."""
    session.info.setdefault(_AFTER_COMMIT, []).append(announce)


async def ping(sessions: async_sessionmaker) -> None:
    """One `SELECT 1` in a session: raises whatever the database (or reaching it) raises."""
    async with sessions() as session:
        await session.execute(text("SELECT 1"))


async def migrate(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the schema to `revision`, the newest by default (a no-op when it is there).
    Processes migrating one database at once take turns: an advisory lock on PostgreSQL, a
    lock file beside the database on SQLite."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    lock = _file_lock(Path(f"{database}.migrate-lock") if database else None)
    async with lock, engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


@contextlib.asynccontextmanager
async def _file_lock(path: Path | None) -> AsyncIterator[None]:
    if path is None or str(path).startswith(":memory:"):
        yield
        return
    with open(path, "a+b") as handle:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Any number of processes start at once on an empty PostgreSQL: one migrates, the others wait
# for it and then find nothing to do (without this, all but one failed on duplicate keys).
_MIGRATION_LOCK = 7_349_120_261_125


class DatabaseUnreachable(Exception):
    """The database could not be reached at start for as long as the process was to wait; the
    message is one line for the operator (no password in it)."""


async def migrate_when_reachable(engine: AsyncEngine, *, wait_s: float) -> None:
    """`migrate`, retried with backoff while the database cannot be reached (a PostgreSQL that
    is still starting, or restarting), one line each time; `DatabaseUnreachable` after `wait_s`.
    """
    deadline = time.monotonic() + wait_s
    delay = 1.0
    while True:
        try:
            await migrate(engine)
            return
        except Exception as err:
            if not _unreachable(err):
                raise
            where, what = where_is(engine), said(err)
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseUnreachable(
                    f"database unreachable at {where} ({what}); gave up after {wait_s:g} s "
                    "(PUSHGRADE_DATABASE_WAIT_SECONDS)"
                ) from None
            pause = min(delay, left)
            log.warning("database unreachable at %s, retrying in %.0f s (%s)", where, pause, what)
            await asyncio.sleep(pause)
            delay = min(delay * 2, 10.0)


def where_is(engine: AsyncEngine) -> str:
    """HOST:PORT of a server, or the file of a SQLite database: never the password."""
    url = engine.url
    if engine.dialect.name == "sqlite":
        return str(url.database)
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def _unreachable(err: BaseException) -> bool:
    if isinstance(err, OSError | TimeoutError):
        return True
    if isinstance(err, exc.OperationalError | exc.InterfaceError):
        return True
    # asyncpg's "the database system is starting up" and its connection errors.
    return type(err).__name__ in ("CannotConnectNowError", "ConnectionDoesNotExistError")


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
