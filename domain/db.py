"""Database access for the whole core: one engine per process, one session per use case.

The core's use cases are plain synchronous functions taking a :class:`~sqlalchemy.orm.Session`.
The async web skins run them through :class:`Database`:

* SQLite (default): the standard ``sqlite3`` driver. Reads run inline on the event loop (an indexed
  query takes well under a millisecond and WAL readers never wait); writes run on a worker thread
  behind one in-process lock and a file lock next to the database (``<db>.write.lock``: the writers
  of several processes — ``--workers N``, the notification worker, the CLI — take turns), inside
  ``BEGIN IMMEDIATE`` so any other writer queues instead of failing half-way.
* PostgreSQL: asyncpg, the use case running inside ``AsyncSession.run_sync`` (greenlet), so the
  event loop is never blocked.

A few hot reads that are plain SQL (catalogue search) take a :class:`Reader` instead of a session
(:meth:`Database.read_rows`): on SQLite it runs statements on the driver's connection inside one
read transaction, without the ORM session's bookkeeping (its cost per call: bench/README.md).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, cast, overload

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    TextClause,
    TypeDecorator,
    create_engine,
    event,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session

if TYPE_CHECKING:  # the state's parts, typed; those modules build on this one
    from domain.catalog.facts import ProcedureFacts
    from domain.outbox.models import Notification
    from domain.stats.rollups import Pending

T = TypeVar("T")
P = ParamSpec("P")
log = logging.getLogger("motcua.db")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every database: stored in UTC, always read back aware.

    (SQLite keeps no zone: without this a value written aware comes back naive.)
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use an aware one (UTC)")
        return value.astimezone(UTC) if dialect.name != "sqlite" else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return read_datetime(value)


class Reader(Protocol):
    """Plain SQL reads (named ``:params``) for use cases that need no ORM: ``rows(sql, params)``."""

    dialect: str

    def rows(self, sql: str, params: dict[str, Any]) -> list[Any]: ...


_TEXTS: dict[str, TextClause] = {}


def _text(sql: str) -> TextClause:
    """``text(sql)``, made once per statement: parsing its parameters costs more than running it."""
    clause = _TEXTS.get(sql)
    if clause is None:
        if len(_TEXTS) >= 1024:
            _TEXTS.clear()
        clause = _TEXTS[sql] = text(sql)
    return clause


TX = "motcua.tx"  # the session.info key of a TxState
AUDIT_KEY = "motcua.audit_key"  # the session.info key of the audit chain's key (domain.audit.record)


@dataclass
class TxState:
    """What one transaction of a session carries for its effects, under one ``session.info`` key.

    The use case's writes add to it (a roll-up mark, an outbox row to complete at commit); the session
    listeners (:func:`domain.dossiers.effects.install_listeners`) read it at commit and drop it when the
    outermost transaction ends, committed or rolled back."""

    connection: Connection | None = None  # looked up once per transaction (:func:`_connection`)
    procedures: dict[str, ProcedureFacts | None] = field(default_factory=dict)  # domain.catalog.facts
    stats: Pending | None = None  # domain.stats.rollups: dossiers to recount, counters to add
    stats_savepoints: dict[int, Pending | None] = field(default_factory=dict)  # stats as each savepoint began
    outbox_snapshot: list[tuple[Notification, dict[str, str]]] = field(default_factory=list)  # completed at commit
    outbox_dossiers: list[Any] = field(default_factory=list)  # held until then (the identity map is weak)
    outbox_recipients: dict[int, Any] = field(default_factory=dict)  # read once per transaction
    wake_worker: bool = False  # a delivery was written: wake the in-process worker after commit
    after_commit: list[Callable[[], None]] = field(default_factory=list)  # see :func:`after_commit`


def tx_state(session: Session) -> TxState:
    """The session's state of its current transaction (made on first use)."""
    state: TxState | None = session.info.get(TX)
    if state is None:
        state = session.info[TX] = TxState()
    return state


def _connection(session: Session) -> Connection:
    """The session's connection, looked up once per transaction (``session.connection()`` is not free,
    and a submit makes twenty plain statements; bench/README.md)."""
    state = tx_state(session)
    if state.connection is None:
        state.connection = session.connection()
    return state.connection


AFTER_COMMIT = "motcua.after_commit"  # session.info: the committed transactions' actions, not yet run


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once this session's transaction has committed, outside it: :class:`Database`'s
    writes run it after the commit, with the write lock released (a file written to the storage, for one).
    A rolled-back transaction drops its actions. An action that fails is logged: the commit stands."""
    tx_state(session).after_commit.append(action)


def keep_after_commit(session: Session) -> None:
    """``after_commit``: hand the transaction's actions to the session, for :class:`Database` to run."""
    state: TxState | None = session.info.get(TX)
    if state is not None and state.after_commit:
        session.info.setdefault(AFTER_COMMIT, []).extend(state.after_commit)
        state.after_commit = []


def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(AFTER_COMMIT, []):
        try:
            action()
        except Exception:
            log.exception("an action after commit failed (the transaction is committed)")


def end_transaction(session: Session, transaction: Any) -> None:
    """``after_transaction_end``: the outermost transaction is over (committed or rolled back), and
    with it everything its use case accumulated; a savepoint forgets only its own copy."""
    if transaction.parent is None:
        session.info.pop(TX, None)
    elif (state := session.info.get(TX)) is not None:
        state.stats_savepoints.pop(id(transaction), None)


class SessionReader:
    """Reads through a session's connection (its transaction; pending ORM changes are not flushed first):
    SQLite on its driver's cursor, PostgreSQL through ``text()``."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        if self.dialect == "sqlite":
            return DriverReader(_connection(self.session).connection.driver_connection).rows(sql, params)
        return list(_connection(self.session).execute(_text(sql), params).all())


class SessionSql(SessionReader):
    """Plain statements in a session's transaction, for the busiest write path (filing a dossier).

    On SQLite they run on the driver's connection, much cheaper than through SQLAlchemy Core, let alone
    as an ORM flush (figures in bench/README.md; docs/adr/0002). Values are stored as SQLAlchemy stores them
    (datetimes as naive UTC text, dates as ISO text), so the ORM reads back what was written. They run
    on the session's connection, so the session's pending ORM changes are *not* flushed first: flush
    before a statement that needs them.
    """

    def run(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """Execute one statement; the rows of its ``RETURNING`` clause, if any."""
        if self.dialect == "sqlite":
            return list(self._raw().execute(sql, {k: _sqlite_value(v) for k, v in params.items()}).fetchall())
        result = _connection(self.session).execute(_text(sql), params)
        return list(result.all()) if result.returns_rows else []

    def many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        """One statement for every row (``executemany``)."""
        if not rows:
            return
        if self.dialect == "sqlite":
            self._raw().executemany(sql, [{k: _sqlite_value(v) for k, v in r.items()} for r in rows])
            return
        _connection(self.session).execute(_text(sql), rows)

    def _raw(self) -> Any:
        raw = _connection(self.session).connection.driver_connection
        assert raw is not None
        return raw


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: use an aware one (UTC)")
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


@overload
def read_date(value: None) -> None: ...
@overload
def read_date(value: date | str) -> date: ...
def read_date(value: date | str | None) -> date | None:
    """A date column read by a plain statement (SQLite gives its stored ISO text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def read_datetime(value: datetime | str | None) -> datetime | None:
    """A datetime column read by a plain statement (SQLite gives its stored text), aware in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DriverReader:
    """Reads on a bare ``sqlite3`` connection (inside the read transaction ``Database`` opened)."""

    dialect = "sqlite"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return list(self.raw.execute(sql, params).fetchall())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The process's database: engines plus the two ways to run a use case."""

    def __init__(self, url: str, *, audit_key: bytes | None = None) -> None:
        """``audit_key``: the audit chain's HMAC key (settings.audit.key), handed to every session this
        database opens (``session.info``); without it :func:`domain.audit.record` uses the key the
        composition root configured for the process."""
        # the effects of a transaction (roll-ups, outbox) build on this module, so their listeners are
        # imported here, when a database is opened, not when this module is
        from domain.dossiers.effects import install_listeners  # noqa: PLC0415

        install_listeners()  # idempotent: once per process, on the Session class
        self.url = url
        self.audit_key = audit_key
        self.is_sqlite = url.startswith("sqlite")
        self.sync_engine: Engine | None = None
        self.async_engine: AsyncEngine | None = None
        if self.is_sqlite:
            self.sync_engine = _sqlite_engine(url)
            self._write_lock = threading.Lock()
            path = url.split("///", 1)[1] if "///" in url else ""
            # writers of every process queue on a file lock next to the database, woken in turn by the
            # kernel, instead of polling in SQLite's busy handler (which sleeps up to 100 ms at a time)
            self._write_file = open(path + ".write.lock", "a") if path and path != ":memory:" else None  # noqa: SIM115
        else:
            # 20 connections kept open, none beyond: a burst waits for one instead of opening and closing
            # overflow connections (each a new PostgreSQL backend: a large share of a submit load's CPU,
            # bench/README.md)
            self.async_engine = create_async_engine(url, pool_size=20, max_overflow=0, pool_pre_ping=True)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    def _info(self) -> dict[str, Any]:
        """A new session's ``info`` (its own dict: a transaction's state is kept there too)."""
        return {AUDIT_KEY: self.audit_key} if self.audit_key else {}

    # -- synchronous API (CLI, worker threads, tests) -------------------------------------------
    def read_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a reading use case from synchronous code (CLI, tests, benchmarks)."""
        if self.sync_engine is None:
            return cast(T, asyncio.run(self._run_and_dispose(self.read, fn, *args, **kwargs)))
        with Session(self.sync_engine, expire_on_commit=False, info=self._info()) as session:
            return fn(session, *args, **kwargs)

    def read_rows_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a plain-SQL reading use case ``fn(reader, …)`` from synchronous code."""
        if self.sync_engine is None:
            return cast(T, asyncio.run(self._run_and_dispose(self.read_rows, fn, *args, **kwargs)))
        with self.sync_engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("BEGIN")  # one snapshot for every statement of the use case
            try:
                return fn(DriverReader(raw), *args, **kwargs)
            finally:
                raw.execute("ROLLBACK")

    def write_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        assert self.sync_engine is not None
        with self._write_lock, self._other_processes(), \
                Session(self.sync_engine, expire_on_commit=False, info=self._info()) as session:
            session.connection(execution_options={"write": True})
            try:
                result = fn(session, *args, **kwargs)
                session.commit()
            except BaseException:
                session.rollback()
                raise
        _run_after_commit(session)  # committed, the write lock released
        return result

    @contextmanager
    def _other_processes(self) -> Iterator[None]:
        """Hold the database's write file lock (SQLite): one writing process at a time, in turn."""
        if self._write_file is None:
            yield
            return
        fcntl.flock(self._write_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._write_file.fileno(), fcntl.LOCK_UN)

    # -- asynchronous API (web skins) ----------------------------------------------------------
    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.is_sqlite:
            return self.read_sync(fn, *args, **kwargs)
        assert self.async_engine is not None
        async with AsyncSession(self.async_engine, expire_on_commit=False, info=self._info()) as session:
            return await session.run_sync(lambda s: fn(s, *args, **kwargs))

    async def read_rows(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A plain-SQL reading use case ``fn(reader, …)`` (see :class:`Reader`)."""
        if self.is_sqlite:
            return self.read_rows_sync(fn, *args, **kwargs)
        assert self.async_engine is not None
        async with AsyncSession(self.async_engine, expire_on_commit=False, info=self._info()) as session:
            return await session.run_sync(lambda s: fn(SessionReader(s), *args, **kwargs))

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.is_sqlite:
            return await asyncio.to_thread(self.write_sync, fn, *args, **kwargs)
        assert self.async_engine is not None
        async with AsyncSession(self.async_engine, expire_on_commit=False, info=self._info()) as session:
            async with session.begin():
                result = await session.run_sync(lambda s: fn(s, *args, **kwargs))
            if AFTER_COMMIT in session.sync_session.info:  # committed: off the event loop
                await asyncio.to_thread(_run_after_commit, session.sync_session)
            return result

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a writing use case from synchronous code (CLI): no event loop needed."""
        if self.is_sqlite:
            return self.write_sync(fn, *args, **kwargs)
        return cast(T, asyncio.run(self._run_and_dispose(self.write, fn, *args, **kwargs)))

    async def _run_and_dispose(self, how: Callable[..., Awaitable[T]], fn: Callable[..., T], *args: Any,
                               **kwargs: Any) -> T:
        """One event loop per synchronous call: the pool's asyncpg connections must not outlive it."""
        try:
            return await how(fn, *args, **kwargs)
        finally:
            await self.dispose()

    async def dispose(self) -> None:
        if self.sync_engine is not None:
            self.sync_engine.dispose()
            if self._write_file is not None:
                self._write_file.close()
                self._write_file = None
        if self.async_engine is not None:
            await self.async_engine.dispose()
