"""The declarative base, shared column types, the SQLite transaction discipline and the
driver's own cursor for reading columns in bulk."""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator):
    """A datetime stored as UTC and always returned timezone-aware.

    SQLite keeps no zone; PostgreSQL keeps ``timestamptz``. Naive values are refused so
    that local Asia/Shanghai time can only enter at the edges (forms, files, pages).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def str_enum(cls, length: int = 20) -> sa.Enum:
    """A ``str`` enum stored as its values in a VARCHAR (no database enum type to migrate)."""
    return sa.Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# --- SQLite: WAL, busy timeout, and BEGIN IMMEDIATE for writers -----------------------
#
# pysqlite opens transactions lazily and only before DML, which breaks savepoints and
# lets two deferred writers deadlock into "database is locked". We take over: the driver
# stays in autocommit mode and we emit BEGIN ourselves. Requests that only read (GET,
# HEAD) begin DEFERRED so that readers never queue behind writers; everything else —
# form posts, CLI commands, jobs — begins IMMEDIATE, so concurrent writers wait on the
# busy timeout instead of failing.

sqlite_begin_mode: contextvars.ContextVar[str] = contextvars.ContextVar(
    "sqlite_begin_mode", default="IMMEDIATE"
)


def install_sqlite_discipline(engine: sa.engine.Engine, busy_timeout_ms: int) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql(f"BEGIN {sqlite_begin_mode.get()}")


def driver_cursor(connection: sa.Connection, query):
    """The database driver's own cursor over ``query`` on ``connection`` (its parameters
    written in): rows as the driver's tuples, for columns read into arrays without an
    object per row (the integrity checks)."""
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    cursor.execute(sql)
    return cursor
